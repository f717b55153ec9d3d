"""Attribution and the drift alert on a real daemon: two workers share the simulator's
account with a manual trade placed by a client of its own (the unmodified ib_async), and
drift results stored by `DriftResults.add` are alerted by email exactly once, a restart
of the daemon included."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import ib_async
import pytest

from tests.fixtures.simulator import eventually, strategy_entry
from tests.supervisor.test_alerts import alerting
from tradd.persistence.attribution import attribute
from tradd.persistence.db import open_database
from tradd.persistence.drift_results import DriftResults, NewDriftResult
from tradd.persistence.ledger import Ledger
from tradd.simgw.background import BackgroundGateway

MANUAL = 3000
"""NVDA shares bought and sold by hand on the strategies' account (no strategy trades NVDA)."""


@pytest.fixture
def manual_client(simulator: BackgroundGateway) -> Iterator[ib_async.IB]:
    """A trader's own client (clientId 77) on a loop of its own, as in the simgw tests."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    ib = ib_async.IB()
    ib.connect("127.0.0.1", simulator.port, clientId=77, timeout=4)
    yield ib
    ib.disconnect()
    asyncio.set_event_loop(None)
    loop.close()


def trade_by_hand(sim: BackgroundGateway, ib: ib_async.IB, side: str) -> None:
    nvda = ib.qualifyContracts(ib_async.Stock("NVDA", "SMART", "USD"))[0]
    trade = ib.placeOrder(nvda, ib_async.MarketOrder(side, MANUAL, orderRef="by-hand"))
    ib.reqCurrentTime()  # the order reached the simulator: the next step fills it
    sim.call(sim.gw.advance, 5)

    def done() -> bool:
        ib.waitOnUpdate(timeout=0.2)
        return trade.isDone() and all(f.commissionReport.execId for f in trade.fills)

    eventually(done, 10, f"manual {side} filled")
    assert trade.orderStatus.status == "Filled"


def executions(sim: BackgroundGateway, prefix: str) -> list[Any]:
    return sim.call(lambda: [e for e in sim.gw.state.executions if e.order_ref.startswith(prefix)])


def cash_flow(found: list[Any]) -> tuple[float, float]:
    """Gross P&L of round trips (sells minus buys) and their commissions."""
    gross = sum(e.shares * e.price * (1 if e.side == "SELL" else -1) for e in found)
    return gross, sum(e.commission for e in found)


def drift(strategy: str, replay: float, report: str | None = None) -> NewDriftResult:
    return NewDriftResult(
        strategy, None, date(2006, 1, 3), date(2006, 1, 9), live_pnl=100.0, replay_pnl=replay,
        components={"slippage": (100.0 - replay) * 0.7, "commissions": (100.0 - replay) * 0.3},
        report_path=report, starting_equity=100_000.0,
    )  # fmt: skip


def test_attribution_and_the_drift_alert_on_one_shared_account(
    tmp_path, simulator, sqlite_url, start_daemon, smtp_server, manual_client
) -> None:
    entries = [
        strategy_entry("s1", params={"script": "1:BUY:10;3:SELL:10"}),
        strategy_entry("s2", client_id=12, symbols=["ORCL"],
                       params={"script": "1:BUY:20;4:SELL:20"}),
    ]  # fmt: skip
    document, env = alerting(tmp_path, simulator, sqlite_url, entries, smtp=smtp_server)
    document["drift"] = {"alert_pct": 0.5}
    daemon = start_daemon(document, env=env)
    engine, sessions = open_database(sqlite_url)
    results = DriftResults(sessions, lambda: datetime.now(UTC))
    try:
        daemon.wait_trading("s1")
        daemon.wait_trading("s2")
        ledgers = {name: Ledger(sessions, name) for name in ("s1", "s2")}
        eventually(lambda: all(lg.equity_history() for lg in ledgers.values()), 20, "snapshots")
        first = results.add(drift("s1", 1_000.0, "/reports/s1/drift.html"))  # -0.90%: alerted

        trade_by_hand(simulator, manual_client, "BUY")
        for _ in range(5):  # s1 buys on its first live bar, sells on its third; s2 on 1 and 4
            simulator.call(simulator.gw.advance, 60)
        trade_by_hand(simulator, manual_client, "SELL")
        account_now = simulator.gw.state.account

        seen: dict[str, Any] = {}

        def booked() -> bool:
            flat, cash = simulator.call(lambda: (not account_now.positions, account_now.cash))
            seen["flat_cash"] = cash
            fills = [f for lg in ledgers.values() for f in lg.fills()]
            last = max(e.at for lg in ledgers.values() for e in lg.equity_history())
            newest = [e for lg in ledgers.values() for e in lg.equity_history() if e.at == last]
            seen.update(
                fills=[(f.order_ref, f.commission) for f in fills],
                nlv=[e.net_liquidation for e in newest],
            )
            return (flat and len(fills) == 4 and all(f.commission is not None for f in fills)
                    and newest[0].net_liquidation == pytest.approx(cash))  # fmt: skip

        eventually(booked, 30, f"every fill booked, the final snapshot taken {seen}")
        flat_cash = seen["flat_cash"]
        found = attribute(sessions, ["s1", "s2"], datetime(2000, 1, 1, tzinfo=UTC),
                          datetime.now(UTC) + timedelta(minutes=1))  # fmt: skip
        for name in ("s1", "s2"):
            gross, commission = cash_flow(executions(simulator, f"{name}-"))
            mine = found.strategy(name)
            assert mine.trades == 2 and mine.unrealized_change == 0.0  # flat before and after
            assert mine.realized_pnl == pytest.approx(gross, abs=1e-6)
            assert mine.commission == pytest.approx(commission) and commission > 0
            assert mine.net_pnl == pytest.approx(gross - commission, abs=1e-6)
        by_hand_gross, by_hand_commission = cash_flow(executions(simulator, "by-hand"))
        by_hand = by_hand_gross - by_hand_commission
        account = found.account
        cent = 0.011  # IB's account values (net liquidation) come to the cent
        assert account.pnl == pytest.approx(flat_cash - account.net_liquidation_start, abs=cent)
        assert account.strategies_pnl == pytest.approx(
            sum(found.strategy(n).net_pnl or 0.0 for n in ("s1", "s2"))
        )
        assert account.unexplained == pytest.approx(by_hand, abs=cent) and abs(by_hand) > 1.0

        [mail] = smtp_server.wait_for(1, 20)
        assert "s1: drift: drift -0.90% (-900.00" in mail.subject
        assert "largest cause slippage -630.00" in mail.body
        assert "report /reports/s1/drift.html" in mail.body and "2006-01-03..01-09" in mail.body

        daemon.proc.send_signal(signal.SIGTERM)
        daemon.proc.wait(30)
        again = start_daemon(document, env=env)
        again.wait_trading("s1")
        results.add(drift("s2", 200.0))  # -0.10%: below the threshold, never alerted
        last = results.add(drift("s2", 2_000.0))  # -1.90%

        def drift_mails() -> list[Any]:
            return [m for m in smtp_server.messages if ": drift: " in m.subject]

        eventually(lambda: len(drift_mails()) >= 2, 20, "the second drift alert")
        mails = drift_mails()
        assert [m.subject.split(":")[0].split()[-1] for m in mails] == ["s1", "s2"]
        assert "-1.90%" in mails[1].subject
        stored = results.history("s2") + results.history("s1")
        alerted = {r.id for r in stored if r.alerted_at is not None}
        assert alerted == {first.id, last.id}
    finally:
        engine.dispose()
