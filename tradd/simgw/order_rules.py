"""The checks IB makes before it accepts an order, with IB's codes and texts.

Every check here is one a rehearsal must catch before real money does: an
order IB would refuse is refused here, on the order's id, for placeOrder and
what-if alike. Texts are IB's as TWS sends them; the ``'bN'`` token in 321
texts is an internal class name that varies between TWS builds, clients must
not depend on it. Where IB accepts something the simulator cannot simulate
(other order types and times in force), the refusal says so plainly.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tradd.simgw.contracts import Instrument
from tradd.simgw.orders import OrderRejected, PlaceOrder

SIMULATED_TYPES = frozenset({"MKT", "LMT", "STP", "STP LMT"})
IB_TIFS = frozenset({"DAY", "GTC", "IOC", "GTD", "OPG", "FOK", "DTC", "AUC"})
SIMULATED_TIFS = frozenset({"DAY", "GTC", "IOC", "GTD", "FOK"})
OPENING_TYPES = frozenset({"MKT", "LMT"})  # OPG makes them market/limit-on-open
UNSUPPORTED_TYPE = "Unsupported order type for this exchange and security type."
OUTSIDE_RTH_IGNORED = (
    "Order Event Warning:Attribute 'Outside Regular Trading Hours' is ignored based on the "
    "order type and destination. PlaceOrder is now being processed."
)
FRACTIONAL = (
    "Fractional-sized order cannot be placed via API. Please use desktop version to place "
    "this order."
)
_GTD = re.compile(r"^(\d{8})[ -](\d{2}):(\d{2}):(\d{2})(?:\s+(\S+))?$")


def validation_error(cause: str) -> OrderRejected:
    """IB's 321 as TWS words it for an order: 'Error validating request.-'bN' : cause - …'."""
    return OrderRejected(321, f"Error validating request.-'bN' : cause - {cause}")


def check_order(req: PlaceOrder, inst: Instrument, now: int, tz: str) -> list[tuple[int, str]]:
    """Refuse what IB refuses (raises OrderRejected); return the warnings IB sends with an
    accepted order (code, text), e.g. 2109 for an outside-RTH flag that does not apply."""
    if not req.contract.exchange:
        raise validation_error("Missing order exchange.")
    _check_action(req)
    _check_quantity(req)
    _check_type(req)
    _check_tif(req, now, tz)
    _check_prices(req, inst)
    return _warnings(req, inst)


def good_till(req: PlaceOrder, tz: str) -> int | None:
    """The epoch a GTD order expires at (None when not GTD)."""
    if req.tif != "GTD":
        return None
    return parse_good_till(req.good_till_date, tz)


def parse_good_till(text: str, tz: str) -> int:
    """IB's goodTillDate: 'YYYYMMDD HH:MM:SS [zone]' (TWS's zone when none), or
    'YYYYMMDD-HH:MM:SS' in UTC; anything else is IB's 'Invalid date for GTD'."""
    match = _GTD.match(text.strip())
    if match is None:
        raise OrderRejected(391, "Invalid date for GTD.")
    day, hh, mm, ss, zone = match.groups()
    name = "UTC" if "-" in text.strip()[:9] else (zone or tz)
    try:
        when = datetime.strptime(f"{day}{hh}{mm}{ss}", "%Y%m%d%H%M%S")
        return int(when.replace(tzinfo=ZoneInfo(name)).timestamp())
    except (ValueError, ZoneInfoNotFoundError) as exc:
        raise OrderRejected(391, "Invalid date for GTD.") from exc


def _check_action(req: PlaceOrder) -> None:
    if req.action not in ("BUY", "SELL"):
        raise validation_error(f"Invalid side: {req.action or '(empty)'}.")


def _check_quantity(req: PlaceOrder) -> None:
    """Zero is 434; negative or not a number is 321; a fraction is 10243 (IB refuses
    fractional sizes through the API; stocks, forex and futures trade whole units)."""
    qty = req.total_qty
    if not math.isfinite(qty) or qty < 0:
        raise validation_error(f"Invalid order size: {qty:g}.")
    if qty == 0:
        raise OrderRejected(434, "The order size cannot be zero.")
    if abs(qty - round(qty)) > 1e-9:
        raise OrderRejected(10243, FRACTIONAL)


def _check_type(req: PlaceOrder) -> None:
    if req.order_type not in SIMULATED_TYPES:
        raise OrderRejected(387, UNSUPPORTED_TYPE)


def _check_tif(req: PlaceOrder, now: int, tz: str) -> None:
    if req.tif not in IB_TIFS:
        raise validation_error(f"Invalid time in force: {req.tif}.")
    if req.tif == "OPG" and req.order_type not in OPENING_TYPES:
        raise OrderRejected(111, "The TIF (Tif type) and the order type are incompatible.")
    if req.tif not in SIMULATED_TIFS:
        raise validation_error(f"Time in force {req.tif} is not simulated by simgw.")
    expires = good_till(req, tz)
    if expires is not None and expires <= now:
        raise OrderRejected(391, "Invalid date for GTD.")


def _check_prices(req: PlaceOrder, inst: Instrument) -> None:
    if req.order_type in ("LMT", "STP LMT") and req.lmt_price is None:
        raise validation_error("Missing limit price.")
    if req.order_type in ("STP", "STP LMT") and req.aux_price is None:
        raise validation_error("Missing stop price.")
    for price in (req.lmt_price, req.aux_price):
        if price is not None and not on_tick(price, inst.min_tick):
            raise OrderRejected(
                110, "The price does not conform to the minimum price variation for this contract."
            )


def _warnings(req: PlaceOrder, inst: Instrument) -> list[tuple[int, str]]:
    """2109: outside RTH means nothing for a market order, nor for forex (which trades
    around the clock on IDEALPRO); IB accepts the order and says so."""
    if req.outside_rth and (req.order_type == "MKT" or inst.is_forex):
        return [(2109, OUTSIDE_RTH_IGNORED)]
    return []


def on_tick(price: float, tick: float) -> bool:
    steps = price / tick
    return abs(steps - round(steps)) < 1e-6
