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
