"""IB's order checks through both client libraries: each refusal comes with IB's code and
text on the order's own id, for placeOrder and what-if alike, nothing of a refused order
is kept, and the trade ends the way the library marks such an error; accepted orders get
IB's warnings and IB's handling of closed markets, GTD and FOK."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tradd.simgw.order_rules import (
    FRACTIONAL,
    OUTSIDE_RTH_IGNORED,
    UNSUPPORTED_TYPE,
    parse_good_till,
)
from tradd.simgw.orders import OrderRejected

from .conftest import GOOG_OPEN, advance, open_market, sync, wait_until

MISSING_EXCHANGE = "Error validating request.-'bN' : cause - Missing order exchange."
WARNINGS = {  # codes each library takes as a warning: the trade is not cancelled by them
    "ib_async": {105, 110, 165, 321, 329, 399, 404, 434, 492, 10167},
    "ib_insync": {110, 165, 202, 399, 404, 434, 492, 10167},
}
ET = ZoneInfo("US/Eastern")


def _goog(ib: Any, iblib: Any) -> Any:
    return ib.qualifyContracts(iblib.Stock("GOOG", "SMART", "USD"))[0]


def _errors(ib: Any) -> list[tuple[int, int, str]]:
    seen: list[tuple[int, int, str]] = []
    ib.errorEvent += lambda req_id, code, text, *rest: seen.append((req_id, code, text))
    return seen


def _ended_as_library_marks(iblib: Any, trade: Any, code: int) -> bool:
    """A non-warning error cancels the trade; a warning leaves it (ib_async flags it), except
    that ib_async cancels a new order refused with 110."""
    status = trade.orderStatus.status
    new_order_110 = iblib.__name__ == "ib_async" and code == 110
    if code in WARNINGS[iblib.__name__] and not new_order_110:
        return status in ("PendingSubmit", "ValidationError")
    return status == "Cancelled"


def _gtd(t: int, minutes: int) -> str:
    return (
        f"{datetime.fromtimestamp(t, ET) + timedelta(minutes=minutes):%Y%m%d %H:%M:%S} US/Eastern"
    )


def _refusals(iblib: Any, goog: Any, now: int) -> list[tuple[Any, Any, int, str]]:
    """(contract, order, code, text) for every refusal IB makes before accepting an order."""
    no_exchange = iblib.Stock("GOOG", "", "USD")
    mkt = iblib.MarketOrder
    lmt = iblib.LimitOrder
    return [
        (no_exchange, mkt("BUY", 10), 321, MISSING_EXCHANGE),
        (goog, mkt("BUY", 0), 434, "The order size cannot be zero."),
        (goog, mkt("BUY", 2.5), 10243, FRACTIONAL),
        (goog, iblib.Order(action="BUY", totalQuantity=10, orderType="TRAIL", auxPrice=1.0),
         387, UNSUPPORTED_TYPE),
        (goog, iblib.StopOrder("BUY", 10, 500.0, tif="OPG"), 111,
         "The TIF (Tif type) and the order type are incompatible."),
        (goog, lmt("BUY", 10, 300.0, tif="GTD"), 391, "Invalid date for GTD."),
        (goog, lmt("BUY", 10, 300.0, tif="GTD", goodTillDate=_gtd(now, -60)), 391,
         "Invalid date for GTD."),
        (goog, lmt("BUY", 10, 300.001), 110,
         "The price does not conform to the minimum price variation for this contract."),
    ]  # fmt: skip


def test_refusals_carry_ibs_code_and_text_on_the_order_id(sim, connect, iblib) -> None:
    ib = connect()
    open_market(sim, ib)
    goog = _goog(ib, iblib)
    errors = _errors(ib)
    for contract, order, code, text in _refusals(iblib, goog, sim.gw.sim_time):
        trade = ib.placeOrder(contract, order)
        wait_until(ib, lambda oid=order.orderId: any(e[0] == oid for e in errors))
        assert (order.orderId, code, text) in errors, (code, errors[-1])
        assert _ended_as_library_marks(iblib, trade, code), (code, trade.orderStatus.status)
    sync(ib)
    assert sim.call(lambda: dict(sim.gw.state.orders)) == {}  # nothing refused is kept
    assert ib.fills() == [] and ib.positions() == []


def test_what_if_is_refused_like_the_order(sim, connect, iblib) -> None:
    """A what-if is checked as the order would be: refused on its own request id."""
    ib = connect()
    open_market(sim, ib)
    goog = _goog(ib, iblib)
    errors = _errors(ib)
    for contract, order, code, text in _refusals(iblib, goog, sim.gw.sim_time)[:3]:
        order.whatIf = True
        req_id = ib.client.getReqId()
        ib.client.placeOrder(req_id, contract, order)  # what ib.whatIfOrder sends
        wait_until(ib, lambda rid=req_id: any(e[0] == rid for e in errors))
        assert (req_id, code, text) in errors
    assert ib.openTrades() == []


def test_market_order_with_outside_rth_warns_2109_and_trades(sim, connect, iblib) -> None:
    ib = connect()
    open_market(sim, ib)
    goog = _goog(ib, iblib)
    errors = _errors(ib)
    trade = ib.placeOrder(goog, iblib.MarketOrder("BUY", 10, outsideRth=True))
    wait_until(ib, trade.isDone)
    assert trade.orderStatus.status == "Filled"
    assert (trade.order.orderId, 2109, OUTSIDE_RTH_IGNORED) in errors
    limit = ib.placeOrder(goog, iblib.LimitOrder("BUY", 10, 100.0, outsideRth=True))
    sync(ib)
    assert limit.orderStatus.status == "Submitted"
    assert not [e for e in errors if e[0] == limit.order.orderId]  # it applies to a limit


def test_market_order_placed_while_closed_waits_presubmitted_for_the_open(
    sim, connect, iblib
) -> None:
    ib = connect()
    assert sim.gw.sim_time < GOOG_OPEN
    goog = _goog(ib, iblib)
    trade = ib.placeOrder(goog, iblib.MarketOrder("BUY", 10))
    sync(ib)
    assert trade.orderStatus.status == "PreSubmitted"  # held by TWS until the session
    advance(sim, ib, GOOG_OPEN - sim.gw.sim_time - 60)
    assert trade.orderStatus.status == "PreSubmitted" and not trade.fills
    advance(sim, ib, 120)
    wait_until(ib, trade.isDone)
    assert trade.orderStatus.status == "Filled"
    assert GOOG_OPEN <= trade.fills[0].execution.time.timestamp() <= GOOG_OPEN + 60
    statuses = [entry.status for entry in trade.log]
    assert statuses.index("PreSubmitted") < statuses.index("Filled")


def test_gtd_order_is_cancelled_at_its_date(sim, connect, iblib) -> None:
    ib = connect()
    open_market(sim, ib)
    goog = _goog(ib, iblib)
    errors = _errors(ib)
    order = iblib.LimitOrder("BUY", 10, 100.0, tif="GTD", goodTillDate=_gtd(sim.gw.sim_time, 30))
    trade = ib.placeOrder(goog, order)
    sync(ib)
    assert trade.orderStatus.status == "Submitted"
    seen = connect(client_id=0).reqAllOpenOrders()  # another client sees its date, as in TWS
    assert [(t.order.tif, t.order.goodTillDate) for t in seen] == [("GTD", order.goodTillDate)]
    advance(sim, ib, 25 * 60)
    assert trade.orderStatus.status == "Submitted"
    advance(sim, ib, 10 * 60)
    wait_until(ib, trade.isDone)
    assert trade.orderStatus.status == "Cancelled"
    assert any(e[0] == order.orderId and e[1] == 202 and "GTD" in e[2] for e in errors)


def test_fok_fills_whole_or_is_cancelled(sim, connect, iblib) -> None:
    ib = connect()
    open_market(sim, ib)
    goog = _goog(ib, iblib)
    resting = ib.placeOrder(goog, iblib.LimitOrder("BUY", 10, 100.0, tif="FOK"))
    wait_until(ib, resting.isDone)
    assert resting.orderStatus.status == "Cancelled" and not resting.fills
    sim.call(sim.gw.core.faults.partial_next.append, 4)  # would otherwise fill in 4 parts
    whole = ib.placeOrder(goog, iblib.MarketOrder("BUY", 40, tif="FOK"))
    wait_until(ib, whole.isDone)
    assert whole.orderStatus.status == "Filled"
    assert [f.execution.shares for f in whole.fills] == [40]


@pytest.mark.parametrize("tif", ["OPG", "DTC"])
def test_unsimulated_ib_tif_is_refused_plainly(sim, connect, iblib, tif: str) -> None:
    """IB accepts these; the simulator cannot honour them and says so, never silently."""
    ib = connect()
    goog = _goog(ib, iblib)
    errors = _errors(ib)
    order = iblib.LimitOrder("BUY", 10, 100.0, tif=tif)
    ib.placeOrder(goog, order)
    wait_until(ib, lambda: any(e[0] == order.orderId for e in errors))
    assert any(e[1] == 321 and "not simulated by simgw" in e[2] for e in errors)


def test_good_till_date_forms() -> None:
    """TWS reads a zone after the time, TWS's own zone without one, and the dash form in UTC."""
    ten_et = int(datetime(2006, 1, 10, 10, 0, tzinfo=ET).timestamp())
    assert parse_good_till("20060110 10:00:00", "US/Eastern") == ten_et
    assert parse_good_till("20060110 10:00:00 US/Eastern", "UTC") == ten_et
    assert parse_good_till("20060110 15:00:00 UTC", "US/Eastern") == ten_et
    assert parse_good_till("20060110-15:00:00", "US/Eastern") == ten_et
    for bad in ("", "tomorrow", "2006-01-10 10:00:00", "20060110", "20060110 10:00:00 Nowhere/X",
                "20061310 10:00:00"):  # fmt: skip
        with pytest.raises(OrderRejected) as info:
            parse_good_till(bad, "US/Eastern")
        assert (info.value.code, str(info.value)) == (391, "Invalid date for GTD.")
