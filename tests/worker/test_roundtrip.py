"""The whole path against the simulator: warm-up, signal, order, fill, position, P&L,
and the persisted rows equal to the simulator's own ledger."""

from __future__ import annotations

import pytest

from tradd.persistence.models import OrderStatus

from .conftest import assert_ledger_matches_simulator


def test_round_trip(launch, ledger_for, simulator, library) -> None:
    live = launch("1:BUY:10;3:SELL:4;5:SELL:6", library=library)
    for _ in range(6):
        live.advance(60)
    strategy = live.worker.cerebro.runningstrats[0]
    feed = live.engine.store.feeds["GOOG"]
    assert len(strategy) >= 30 + strategy.live_bars  # warm-up history went through
    assert strategy.live_bars == 6
    statuses = [(ref, status) for ref, status, _, _ in strategy.notes]
    assert statuses == [
        ("s1-1", "Submitted"), ("s1-1", "Accepted"), ("s1-1", "Completed"),
        ("s1-2", "Submitted"), ("s1-2", "Accepted"), ("s1-2", "Completed"),
        ("s1-3", "Submitted"), ("s1-3", "Accepted"), ("s1-3", "Completed"),
    ]  # fmt: skip
    assert not feed.in_history
    ledger = ledger_for()
    theirs = assert_ledger_matches_simulator(simulator, ledger)
    assert len(theirs["fills"]) == 3 and theirs["positions"] == {}
    orders = ledger.orders()
    assert [o.status for o in orders] == [OrderStatus.FILLED] * 3
    assert all(o.ib_order_id and o.perm_id for o in orders)
    book = live.engine.manager.book
    fills = ledger.fills()
    gross = fills[1].quantity * (fills[1].price - fills[0].price) + fills[2].quantity * (
        fills[2].price - fills[0].price)  # fmt: skip
    assert book.realized_pnl == pytest.approx(gross)
    assert book.commission == pytest.approx(sum(f.commission for f in fills))
    trade_pnl = sum(t.pnlcomm for trades in strategy._trades.values()
                    for ts in trades.values() for t in ts if t.isclosed)  # fmt: skip
    assert trade_pnl == pytest.approx(gross - book.commission)
    decisions = ledger.risk_decisions()
    assert [d.order_ref for d in decisions] == ["s1-1", "s1-2", "s1-3"]
    assert {d.action for d in decisions} == {"APPROVED"}
    status = live.worker.command("status")
    assert status["connection"] == "connected" and status["positions"] == {}
    assert status["equity"] > 0 and status["realized_pnl"] == pytest.approx(gross)
    assert live.stop() == 0


def test_round_trip_on_each_database(database_url, launch, ledger_for, simulator) -> None:
    live = launch("1:BUY:5;2:SELL:5", url=database_url)
    live.advance(120)
    assert_ledger_matches_simulator(simulator, ledger_for(url=database_url))
    assert live.stop() == 0


def test_several_symbols_reach_the_strategy_together(launch, ledger_for, simulator) -> None:
    """One next() per period with every symbol's bar, as in a backtest."""
    live = launch("2:BUY:5:ORCL;3:BUY:5:NVDA", entry={"symbols": ["GOOG", "ORCL", "NVDA"]})
    for _ in range(4):
        live.advance(60)
    strategy = live.worker.cerebro.runningstrats[0]
    assert strategy.live_bars == 4
    stamps = {d._name: d.datetime.datetime(0) for d in strategy.datas}
    assert len(set(stamps.values())) == 1, stamps  # all at the same bar
    assert str(stamps["GOOG"]) == "2006-01-10 09:33:00"  # exchange time, bar start
    ledger = ledger_for()
    assert [(o.symbol, o.status) for o in ledger.orders()] == [("ORCL", "Filled"),
                                                               ("NVDA", "Filled")]  # fmt: skip
    assert_ledger_matches_simulator(simulator, ledger)


def test_ticks_reach_a_strategy_that_asks_for_them(launch) -> None:
    live = launch("", entry={"ticks": True})
    live.advance(60)
    live.advance(60)  # ticks of the second minute arrive while the bars are live
    strategy = live.worker.cerebro.runningstrats[0]
    ticks = strategy.getdatabyname("GOOG:ticks")
    assert len(ticks) > 0
    assert 0 < ticks.bid[0] < ticks.ask[0]
    assert ticks.bid[0] <= ticks.close[0] <= ticks.ask[0]
    assert str(ticks.datetime.datetime(0)) == "2006-01-10 09:31:00"  # market time, local


def test_stop_and_stop_limit_orders_trigger_and_cancel_reaches_ib(
    launch, ledger_for, simulator
) -> None:
    live = launch("1:BUY:20;2:STOP_SELL:10;2:STOPLIMIT_SELL:5;2:LIMIT_BUY:7;3:CANCEL_ALL",
                  entry={"params": {"offset": 0.3}})  # fmt: skip
    live.advance(120)
    ledger = ledger_for()
    kinds = {o.order_ref: (o.order_type, o.stop_price, o.limit_price) for o in ledger.orders()}
    assert kinds["s1-2"][0] == "STP" and kinds["s1-2"][1] is not None
    assert kinds["s1-3"][0] == "STP LMT" and kinds["s1-3"][2] < kinds["s1-3"][1]
    live.advance(60)  # bar 3: the strategy cancels whatever still works
    live.settle()
    ledger = ledger_for()
    statuses = {o.order_ref: o.status for o in ledger.orders()}
    assert statuses["s1-1"] == "Filled"
    assert all(statuses[r] in ("Filled", "Cancelled") for r in ("s1-2", "s1-3", "s1-4"))
    notes = live.worker.cerebro.runningstrats[0].notes
    finals = {ref: status for ref, status, _, _ in notes}
    assert {finals[r] for r in ("s1-2", "s1-3", "s1-4")} <= {"Completed", "Canceled"}
    assert "Canceled" in finals.values()
    assert_ledger_matches_simulator(simulator, ledger)


def test_unsupported_order_types_are_refused_with_a_reason(launch, ledger_for) -> None:
    live = launch("1:TRAIL_SELL:5")
    live.advance(60)
    ((_ref, status, _, reason),) = live.worker.cerebro.runningstrats[0].notes
    assert status == "Rejected" and "not supported live" in reason
    assert ledger_for().orders() == []
