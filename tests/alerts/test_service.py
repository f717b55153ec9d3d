"""The alert service on a real outbox (SQLite) and a real SMTP server, with fake clocks."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from tests.alerts.test_summary import fill
from tests.fixtures.simulator import worker_settings
from tests.records.samples import status
from tradd.alerts.channels import build_channels
from tradd.alerts.model import AlertEvent
from tradd.alerts.service import AlertService
from tradd.persistence.ledger import Ledger
from tradd.records.view import WorkerView

EASTERN = ZoneInfo("US/Eastern")


class Clocks:
    def __init__(self, wall: datetime) -> None:
        self.wall, self.mono = wall, 1000.0

    def now(self) -> datetime:
        return self.wall

    def monotonic(self) -> float:
        return self.mono


def service_for(
    tmp_path, sessions, smtp_server, clocks: Clocks, views=(), **alerts: Any
) -> AlertService:
    email = {"enabled": True, "host": "127.0.0.1", "port": smtp_server.port, "security": "none",
             "username": smtp_server.username, "password": smtp_server.password,
             "recipients": ["ops@example.com"], "rate_limit": 10000}  # fmt: skip
    settings = worker_settings(tmp_path, 4002, "sqlite://", [{"name": "alpha", "strategy": "x.Y", "symbols": ["GOOG"], "client_id": 1}],
                               alerts={"dedup_window": 60, "retry_initial": 0.05, "email": email, **alerts})  # fmt: skip
    return AlertService(settings, sessions, build_channels(settings.alerts), lambda: list(views),
                        clock=clocks.now, monotonic=clocks.monotonic)  # fmt: skip


def run(coro: Any) -> Any:
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


def test_a_storm_of_1000_identical_events_is_one_email_plus_a_count(
    tmp_path, sessions, smtp_server
) -> None:
    clocks = Clocks(datetime(2026, 12, 1, 15, tzinfo=UTC))
    at = clocks.wall

    async def scenario() -> None:
        service = service_for(tmp_path, sessions, smtp_server, clocks, summary={"enabled": False})
        await service.start()
        for _ in range(1000):
            service.submit(AlertEvent("data_stale", "warning", "GOOG: no market data", at,
                                      strategy="alpha", key="GOOG"))  # fmt: skip
        await service._queue.join()
        await asyncio.to_thread(smtp_server.wait_for, 1, 10)
        clocks.mono += 61
        await service.tick()
        await asyncio.to_thread(smtp_server.wait_for, 2, 10)
        await service.dispatcher.drain(10)
        await service.stop()

    run(scenario())
    first, second = smtp_server.messages
    assert "data stale: GOOG: no market data" in first.subject
    assert "999 more like this" in second.subject
    assert "999 similar alerts were suppressed" in second.body
    assert len(smtp_server.messages) == 2


def test_the_daily_summary_goes_out_at_its_time_with_the_ledgers_numbers(
    tmp_path, sessions, smtp_server
) -> None:
    ledger = Ledger(sessions, "alpha")
    fill(ledger, "BUY", 10, 100.0, datetime(2026, 12, 1, 10, tzinfo=EASTERN), 1.0, None)
    fill(ledger, "SELL", 10, 104.5, datetime(2026, 12, 1, 11, tzinfo=EASTERN), 1.5, 42.5)
    ledger.snapshot_equity(
        net_liquidation=100_000.0, at=datetime(2026, 12, 1, 9, 30, tzinfo=EASTERN)
    )
    ledger.snapshot_equity(net_liquidation=100_042.5, at=datetime(2026, 12, 1, 16, tzinfo=EASTERN))
    clocks = Clocks(datetime(2026, 12, 1, 16, 29, tzinfo=EASTERN))
    views = [WorkerView("alpha", "RUNNING", 1, 0, 1.0, 0.1, snapshot=status(unrealized_pnl=0.0))]

    async def scenario() -> list[Any]:
        service = service_for(tmp_path, sessions, smtp_server, clocks, views,
                              summary={"time": "16:30:00", "timezone": "US/Eastern"})  # fmt: skip
        await service.start()
        await service.tick()  # 16:29: not yet
        await service._queue.join()
        before = len(smtp_server.messages)
        clocks.wall = datetime(2026, 12, 1, 16, 30, tzinfo=EASTERN)
        await service.tick()
        await service.tick()  # once a day
        await service._queue.join()
        await asyncio.to_thread(smtp_server.wait_for, 1, 10)
        await service.dispatcher.drain(10)
        await service.stop()
        again = service_for(tmp_path, sessions, smtp_server, clocks, views)  # a restart
        await again.start()
        await again.tick()
        await again._queue.join()
        await again.stop()
        return [before]

    [before] = run(scenario())
    assert before == 0
    [mail] = smtp_server.messages
    assert "daily summary" in mail.subject and "2026-12-01" in mail.subject
    body = mail.body
    assert "trades: 2" in body and "realized_pnl: 45.0" in body and "commission: 2.5" in body
    assert "portfolio value: 100,042.50" in body and "P&L today (account): 42.50" in body
    assert "net_pnl: 42.5" in body and "not explained by the strategies: 0.00" in body
    assert "alpha" in body and "total" in body


def test_a_daily_loss_past_the_threshold_is_alerted_once_a_day(
    tmp_path, sessions, smtp_server
) -> None:
    clocks = Clocks(datetime(2026, 12, 1, 15, tzinfo=UTC))
    views = [WorkerView("alpha", "RUNNING", 1, 0, 1.0, 0.1,
                        snapshot=status(daily_pnl=-2500.0, equity=97_500.0))]  # fmt: skip

    async def scenario() -> None:
        service = service_for(tmp_path, sessions, smtp_server, clocks, views, daily_loss=2000.0,
                              daily_loss_pct="off", summary={"enabled": False})  # fmt: skip
        await service.start()
        await service.tick()
        await service.tick()
        await service._queue.join()
        await asyncio.to_thread(smtp_server.wait_for, 1, 10)
        await service.dispatcher.drain(10)
        await service.stop()

    run(scenario())
    [mail] = smtp_server.messages
    assert mail.subject.startswith("[tradd CRITICAL] daily loss")
    assert "-2,500.00" in mail.subject and "-2,000.00" in mail.subject


def test_a_drift_alert_the_outbox_refused_is_sent_at_the_next_look_and_then_never_again(
    tmp_path, sessions, smtp_server
) -> None:
    """The result is marked alerted only once its alert is in the outbox: a database that
    refuses the alert leaves the result for the next look, instead of losing its alert."""
    from sqlalchemy import text

    from tests.persistence.test_drift_results import result
    from tradd.persistence.drift_results import DriftResults

    clocks = Clocks(datetime(2026, 12, 1, 15, tzinfo=UTC))
    store = DriftResults(sessions, clocks.now)
    stored = store.add(result("alpha", -500.0, 2000.0))  # -2.5% of 100,000

    def outbox(rename: str) -> None:
        with sessions.begin() as session:
            session.execute(text(rename))

    async def scenario() -> None:
        service = service_for(tmp_path, sessions, smtp_server, clocks, summary={"enabled": False})
        await service.start()
        outbox("ALTER TABLE alerts RENAME TO alerts_away")  # the outbox cannot be written
        await service.tick()
        assert [r.id for r in store.pending_alerts(1.0)] == [stored.id]
        outbox("ALTER TABLE alerts_away RENAME TO alerts")
        clocks.mono += 5
        await service.tick()
        await asyncio.to_thread(smtp_server.wait_for, 1, 10)
        clocks.mono += 5
        await service.tick()
        await service.dispatcher.drain(10)
        await service.stop()

    run(scenario())
    [message] = smtp_server.messages
    assert "drift -2.50%" in message.subject and "alpha" in message.subject
    assert store.pending_alerts(1.0) == []
