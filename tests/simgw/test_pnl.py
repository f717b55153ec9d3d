"""P&L subscriptions through both client libraries, against the account's own numbers."""

from __future__ import annotations

import json
import math

import pytest

from tradd.simgw.state import SimState

from .conftest import GOOG_OPEN, advance, open_market, sync, wait_until

ACCOUNT = "DU0000001"
UNSET = 1.7976931348623157e308


def _goog(ib, iblib):
    return ib.qualifyContracts(iblib.Stock("GOOG", "SMART", "USD"))[0]


def _fill(ib, iblib, contract, action: str, qty: int):
    trade = ib.placeOrder(contract, iblib.MarketOrder(action, qty))
    wait_until(
        ib,
        lambda: (
            trade.isDone() and bool(trade.fills) and trade.fills[-1].commissionReport.commission > 0
        ),
    )
    return trade


def _mark(sim, con_id: int) -> float:
    return sim.call(lambda: sim.gw.core.mark(con_id))


def test_pnl_before_and_after_fills(sim, connect, iblib) -> None:
    ib = connect()
    open_market(sim, ib, minutes=10)
    goog = _goog(ib, iblib)
    pnl = ib.reqPnL(ACCOUNT)
    single = ib.reqPnLSingle(ACCOUNT, "", goog.conId)
    sync(ib)
    assert (pnl.dailyPnL, pnl.unrealizedPnL, pnl.realizedPnL) == (0.0, 0.0, 0.0)
    assert single.position == 0 and single.realizedPnL == UNSET

    buy = _fill(ib, iblib, goog, "BUY", 100)
    advance(sim, ib, 60)
    mark = _mark(sim, goog.conId)
    [position] = ib.positions()
    unrealized = 100 * (mark - position.avgCost)
    assert pnl.unrealizedPnL == pytest.approx(unrealized, abs=1e-6)
    assert pnl.dailyPnL == pytest.approx(unrealized, abs=1e-6)  # opened today: same thing
    assert pnl.realizedPnL == 0.0
    assert single.position == 100
    assert single.value == pytest.approx(100 * mark)
    assert single.unrealizedPnL == pytest.approx(unrealized, abs=1e-6)
    assert single.dailyPnL == pytest.approx(pnl.dailyPnL, abs=1e-6)
    assert single.realizedPnL == UNSET  # nothing closed today

    sell = _fill(ib, iblib, goog, "SELL", 100)
    sync(ib)
    realized = sell.fills[-1].commissionReport.realizedPNL
    cost = sum(f.commissionReport.commission for f in buy.fills + sell.fills)
    price_gain = 100 * (sell.fills[-1].execution.price - buy.fills[-1].execution.price)
    assert realized == pytest.approx(price_gain - cost, abs=1e-6)
    assert pnl.realizedPnL == pytest.approx(realized, abs=1e-6)
    assert pnl.unrealizedPnL == 0.0
    assert pnl.dailyPnL == pytest.approx(realized, abs=1e-6)
    assert single.position == 0 and single.value == 0.0
    assert single.realizedPnL == pytest.approx(realized, abs=1e-6)
    [net_liq] = [v for v in ib.accountValues() if v.tag == "NetLiquidation" and v.currency == "USD"]
    assert float(net_liq.value) - 1_000_000 == pytest.approx(pnl.dailyPnL, abs=1e-4)


def test_daily_pnl_of_a_position_held_overnight(sim, connect, iblib) -> None:
    ib = connect()
    open_market(sim, ib, minutes=10)
    goog = _goog(ib, iblib)
    _fill(ib, iblib, goog, "BUY", 10)
    advance(sim, ib, GOOG_OPEN + 86_400 + 30 * 60 - sim.gw.sim_time)  # next day, 10:00
    ticker = ib.reqMktData(goog)
    pnl = ib.reqPnL(ACCOUNT)
    single = ib.reqPnLSingle(ACCOUNT, "", goog.conId)
    sync(ib)
    assert not math.isnan(ticker.close)
    daily = 10 * (ticker.last - ticker.close)  # from yesterday's close to now
    assert single.dailyPnL == pytest.approx(daily, abs=1e-6)
    assert pnl.dailyPnL == pytest.approx(daily, abs=1e-6)
    assert pnl.realizedPnL == 0.0
    updates: list[float] = []
    pnl_events = ib.pnlEvent
    pnl_events += lambda p: updates.append(p.dailyPnL)
    advance(sim, ib, 60)
    assert updates and pnl.dailyPnL == pytest.approx(10 * (ticker.last - ticker.close), abs=1e-6)


def test_pnl_refusals(sim, connect, iblib) -> None:
    ib = connect()
    errors: list[tuple[int, int]] = []
    ib.errorEvent += lambda req_id, code, *rest: errors.append((req_id, code))
    ib.reqPnL("U9999999")
    sync(ib)
    ib.reqPnLSingle(ACCOUNT, "", 4242)
    sync(ib)
    assert [code for _, code in errors] == [321, 200]
    assert all(req_id > 0 for req_id, _ in errors)


def test_state_without_day_marks_still_loads() -> None:
    state = {
        "version": 1, "sim_time": 5, "orders": [], "executions": [], "max_order_id": {},
        "next_perm_id": 7, "exec_seq": 0, "trading_day": 3,
        "account": {"account": ACCOUNT, "cash": 1.0, "positions": {"12": [5, 2.0]},
                    "realized_pnl": 0.0, "commissions": 0.0},
    }  # fmt: skip
    loaded = SimState.from_json(json.loads(json.dumps(state)))
    assert loaded.day_marks == {}
    loaded.day_marks[12] = 3.5
    assert SimState.from_json(loaded.to_json()).day_marks == {12: 3.5}


def test_pnl_survives_data_lost_and_follows_fills_released(sim, connect, iblib) -> None:
    ib = connect()
    open_market(sim, ib, minutes=10)
    goog = _goog(ib, iblib)
    pnl = ib.reqPnL(ACCOUNT)
    ticker = ib.reqMktData(goog)
    sync(ib)
    sim.call(sim.gw.faults.connectivity_lost)
    trade = ib.placeOrder(goog, iblib.MarketOrder("BUY", 100))
    advance(sim, ib, 10)
    assert not trade.fills and pnl.unrealizedPnL == 0.0  # held with the fill reports
    sim.call(lambda: sim.gw.faults.connectivity_restored(data_lost=True))
    wait_until(ib, lambda: bool(trade.fills) and pnl.unrealizedPnL != 0.0)
    seen = ticker.last
    advance(sim, ib, 60)
    assert ticker.last == seen  # market data was lost with 1101 ...
    [position] = ib.positions()
    mark = _mark(sim, goog.conId)
    assert pnl.unrealizedPnL == pytest.approx(
        100 * (mark - position.avgCost), abs=1e-6
    )  # ... P&L not
