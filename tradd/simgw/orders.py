"""Orders and executions as the simulator keeps them, and placeOrder parsing.

placeOrder (message 3) has no version field and optional sections whose
presence depends on earlier fields; ``parse_place_order`` walks that structure
the way the client libraries write it (ib_async ``client.placeOrder``) so the
what-if flag is found wherever it lands.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from tradd.simgw.contracts import ContractQuery

ORDER_TYPES = frozenset({"MKT", "LMT", "STP", "STP LMT"})
TIME_IN_FORCE = frozenset({"DAY", "GTC", "IOC"})
ACTIVE = frozenset({"PreSubmitted", "Submitted"})
DONE = frozenset({"Filled", "Cancelled", "Inactive"})
UNSET_DOUBLE = 1.7976931348623157e308


class FieldError(ValueError):
    """A request field that cannot be read; answered with TWS error 320."""


@dataclass
class SimOrder:
    """One order's terms and state; persisted with the rest of the simulator state."""

    order_id: int
    client_id: int
    perm_id: int
    con_id: int
    action: str
    total_qty: float
    order_type: str
    lmt_price: float | None
    aux_price: float | None
    tif: str
    account: str
    order_ref: str
    parent_id: int
    oca_group: str
    outside_rth: bool
    transmit: bool
    status: str = "PendingSubmit"
    filled: float = 0.0
    avg_fill_price: float = 0.0
    last_fill_price: float = 0.0
    triggered: bool = False
    placed_at: int = 0
    expires_at: int | None = None
    completed_at: int | None = None
    completed_status: str = ""
    fill_chunks: int = 1

    @property
    def remaining(self) -> float:
        return self.total_qty - self.filled

    @property
    def is_buy(self) -> bool:
        return self.action == "BUY"

    @property
    def is_done(self) -> bool:
        return self.status in DONE

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SimOrder:
        return cls(**data)


@dataclass
class Execution:
    """One fill, with the commission report TWS sends after it."""

    exec_id: str
    order_id: int
    client_id: int
    perm_id: int
    con_id: int
    time: int
    side: str
    shares: float
    price: float
    cum_qty: float
    avg_price: float
    order_ref: str
    account: str
    commission: float
    realized_pnl: float | None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Execution:
        return cls(**data)


@dataclass(frozen=True)
class PlaceOrder:
    """The fields of a placeOrder request the simulator acts on."""

    order_id: int
    contract: ContractQuery
    sec_type: str
    action: str
    total_qty: float
    order_type: str
    lmt_price: float | None
    aux_price: float | None
    tif: str
    oca_group: str
    account: str
    order_ref: str
    transmit: bool
    parent_id: int
    outside_rth: bool
    what_if: bool
    extra: dict[str, str] = field(default_factory=dict)


def contract_query(fields: list[str], at: int) -> ContractQuery:
    """Read a 12-field contract block starting at index ``at``."""
    block = fields[at : at + 12]
    if len(block) != 12:
        raise FieldError(f"contract block at field {at} is cut short ({len(block)} of 12 fields)")
    return ContractQuery(
        con_id=to_int(block[0], "conId"),
        symbol=block[1].upper(),
        sec_type=block[2].upper(),
        exchange=block[7].upper(),
        primary_exchange=block[8].upper(),
        currency=block[9].upper(),
        local_symbol=block[10],
        last_trade_date=block[3].strip(),
        multiplier=block[6].strip(),
        trading_class=block[11].strip(),
    )


def to_int(text: str, name: str) -> int:
    try:
        return int(text) if text else 0
    except ValueError as exc:
        raise FieldError(f"field {name!r} is not an integer: {text!r}") from exc


def to_float(text: str, name: str) -> float | None:
    """Empty and IB's UNSET_DOUBLE both mean 'not given'."""
    if not text:
        return None
    try:
        value = float(text)
    except ValueError as exc:
        raise FieldError(f"field {name!r} is not a number: {text!r}") from exc
    return None if value >= UNSET_DOUBLE else value


def to_bool(text: str) -> bool:
    return text not in ("", "0", "false", "False")


def parse_place_order(fields: list[str], version: int) -> PlaceOrder:
    """Fields of message 3 (id first) to a PlaceOrder."""
    if len(fields) < 30:
        raise FieldError(f"placeOrder has {len(fields)} fields, expected at least 30")
    contract = contract_query(fields, 2)
    if contract.sec_type == "BAG":
        raise FieldError("combo (BAG) orders are not simulated")
    get = fields.__getitem__
    return PlaceOrder(
        order_id=to_int(get(1), "orderId"),
        contract=contract,
        sec_type=contract.sec_type,
        action=get(16).upper(),
        total_qty=to_float(get(17), "totalQuantity") or 0.0,
        order_type=" ".join(get(18).upper().split()),
        lmt_price=to_float(get(19), "lmtPrice"),
        aux_price=to_float(get(20), "auxPrice"),
        tif=get(21).upper() or "DAY",
        oca_group=get(22),
        account=get(23),
        order_ref=get(26),
        transmit=to_bool(get(27)),
        parent_id=to_int(get(28), "parentId"),
        outside_rth=to_bool(get(33)),
        what_if=to_bool(_what_if_field(fields, version)),
    )


def _what_if_field(fields: list[str], version: int) -> str:
    """Walk the optional sections after field 34 (hidden) to reach whatIf."""
    i = 35 + 7 + (1 if version < 177 else 0)  # deprecated .. faPercentage [, faProfile]
    i += 24  # modelCode .. deltaNeutralAuxPrice
    if _at(fields, i - 2):  # deltaNeutralOrderType
        i += 8
    i += 7  # continuousUpdate .. scalePriceIncrement
    increment = to_float(_at(fields, i - 1), "scalePriceIncrement")
    if increment is not None and increment > 0:
        i += 7
    i += 4  # scaleTable, activeStartTime, activeStopTime, hedgeType
    if _at(fields, i - 1):
        i += 1
    i += 4  # optOutSmartRouting .. notHeld
    i += 4 if to_bool(_at(fields, i)) else 1  # deltaNeutralContract
    algo = _at(fields, i)
    i += 1
    if algo:
        count = to_int(_at(fields, i), "algoParams count")
        i += 1 + 2 * count
    i += 1  # algoId
    if i >= len(fields):
        raise FieldError(f"placeOrder is cut short before whatIf (field {i} of {len(fields)})")
    return fields[i]


def _at(fields: list[str], i: int) -> str:
    return fields[i] if i < len(fields) else ""
