"""The supervisor's alert service: events in, through the router and the outbox, out.

Everything that happens reaches `submit` (worker events, supervisor events, the daily
loss watch, the daily summary); a task routes each one, stores the resulting alert with
one delivery per channel in the outbox (before anything is sent) and wakes the
dispatcher, which delivers and retries. `tick` runs on every turn of the supervisor's
loop: repeats to flush, the summary when due, the account's daily loss.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

import structlog
from sqlalchemy.orm import Session, sessionmaker

from tradd.alerts.dispatch import Dispatcher
from tradd.alerts.drift import DriftWatch
from tradd.alerts.model import Alert, AlertEvent, Channel
from tradd.alerts.outbox import Outbox
from tradd.alerts.router import AlertRouter
from tradd.alerts.summary import SummarySchedule, summary_event
from tradd.config.settings import Settings
from tradd.errors import ConfigError
from tradd.marketdata.contracts import load_definitions
from tradd.records.events import EventKind
from tradd.records.view import WorkerView

log = structlog.get_logger("tradd.alerts")
STORE_ATTEMPTS = 8
"""Tries to write an alert to the outbox (about 25 s in all) before it is given up, loudly."""
FRESH_SECONDS = 30.0
"""Only snapshots this recent count for the daily-loss watch (a dead worker's do not)."""


def utc_now() -> datetime:
    return datetime.now(UTC)


class AlertService:
    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        channels: Mapping[str, Channel],
        views: Callable[[], Sequence[WorkerView]],
        *,
        clock: Callable[[], datetime] = utc_now,
        monotonic: Callable[[], float],
    ) -> None:
        self.settings, self._sessions, self._views, self._clock = settings, sessions, views, clock
        a = settings.alerts
        self.outbox = Outbox(sessions, clock)
        self.router = AlertRouter(a, monotonic)
        self.dispatcher = Dispatcher(self.outbox, channels, a, clock=clock, monotonic=monotonic)
        self.summary = SummarySchedule(a.summary)
        self._queue: asyncio.Queue[AlertEvent] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._loss_day: date | None = None
        self.drift = DriftWatch(sessions, clock, monotonic)

    async def start(self) -> None:
        """Pick up where the last run left off: the day of the last summary and of the last
        daily-loss alert (neither goes out twice), and every delivery still pending."""
        for kind in ("daily_summary", "daily_loss"):
            last = await asyncio.to_thread(self.outbox.latest, kind)
            day = last.data.get("day") if last is not None else None
            if isinstance(day, str):
                seen = date.fromisoformat(day)
                if kind == "daily_summary":
                    self.summary.last_sent = seen
                else:
                    self._loss_day = seen
        await self.dispatcher.start()
        self._task = asyncio.get_running_loop().create_task(self._consume())
        log.info(
            "alerts started",
            channels=list(self.settings.alerts.enabled_channels()),
            pending=await asyncio.to_thread(self.outbox.pending_count),
        )

    async def stop(self, timeout: float = 10.0) -> None:
        """Store what is queued and every suppressed count (sent after the next start if
        not now), then stop the senders."""
        for alert in self.router.flush(force=True):
            await self._store_safely(alert)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), timeout)
        if self._queue.qsize():
            log.error("alert events not stored at shutdown", count=self._queue.qsize())
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.dispatcher.stop(timeout)

    def submit(self, event: AlertEvent) -> None:
        self._queue.put_nowait(event)

    async def _consume(self) -> None:
        while True:
            event = await self._queue.get()
            try:
                alert = self.router.route(event)
                if alert is not None:
                    await self._store_safely(alert)
            finally:
                self._queue.task_done()

    async def _store_safely(self, alert: Alert) -> None:
        """Store with retries: the database may be busy (SQLite, shared with the workers)
        or briefly unreachable. Only after STORE_ATTEMPTS failures is the alert lost, loudly."""
        pause = 0.2
        for attempt in range(1, STORE_ATTEMPTS + 1):
            try:
                await self._store(alert)
                return
            except Exception as exc:
                if attempt == STORE_ATTEMPTS:
                    log.exception(
                        "alert LOST: could not be stored", kind=alert.kind, subject=alert.subject
                    )
                    return
                log.warning("alert not stored yet; retrying", kind=alert.kind, error=repr(exc))
                await asyncio.sleep(pause)  # backoff before the next database attempt
                pause = min(pause * 2, 5.0)

    async def _store(self, alert: Alert, channels: Sequence[str] | None = None) -> Alert:
        wanted = self.router.channels(alert.kind, alert.severity) if channels is None else channels
        stored = await asyncio.to_thread(self.outbox.add, alert, list(wanted))
        log.info(
            "alert",
            kind=alert.kind,
            severity=alert.severity,
            subject=alert.subject,
            channels=list(wanted),
            id=stored.id,
        )
        self.dispatcher.wake()
        return stored

    # -- the loop's turn ----------------------------------------------------------------------
    async def tick(self) -> None:
        """Never raises: the supervisor's loop (and every strategy) must not stop for an alert."""
        try:
            for alert in self.router.flush():
                await self._store_safely(alert)
            await self._summary_if_due()
            await self._drift_if_due()
            self._watch_daily_loss(self._clock())
        except Exception:
            log.exception("alert tick failed")

    def update(self, settings: Settings) -> None:
        """A reload: routes, thresholds, dedup, summary and strategies apply at once; the
        channels themselves (servers, credentials) only after a restart."""
        if settings.alerts.enabled_channels() != self.settings.alerts.enabled_channels():
            log.warning("alert channels changed: they apply after a restart of tradd")
        self.settings = settings
        self.router.settings = settings.alerts
        self.summary = SummarySchedule(settings.alerts.summary, self.summary.last_sent)

    async def _summary_if_due(self) -> None:
        now = self._clock()
        day = self.summary.due(now)
        if day is not None:
            names = [s.name for s in self.settings.strategies]
            event = await asyncio.to_thread(
                lambda: summary_event(
                    self._sessions, names, day, self.summary.zone, now, self._multipliers()
                )
            )
            self.summary.last_sent = day
            self.submit(event)

    def _multipliers(self) -> dict[str, float]:
        """Each traded symbol's contract multiplier (futures' realized P&L in money)."""
        try:
            definitions = load_definitions(self.settings.data.dir)
        except ConfigError as exc:  # the workers refuse to start on it; the summary goes on
            log.warning("contract definitions unreadable; multipliers of 1", error=str(exc))
            return {}
        symbols = {s for strategy in self.settings.strategies for s in strategy.symbols}
        return {s: float(definitions.spec(s).multiplier) for s in sorted(symbols)}

    async def _drift_if_due(self) -> None:
        """Each new drift result beyond `[drift] alert_pct`: stored in the outbox, then
        marked alerted (see alerts.drift). A store that fails raises: the result waits for
        the next look."""
        if self.drift.due():
            threshold = self.settings.drift.alert_pct
            for result_id, event in await asyncio.to_thread(self.drift.pending, threshold):
                alert = self.router.route(event)
                if alert is not None:
                    await self._store(alert)
                await asyncio.to_thread(self.drift.alerted, result_id)

    def _watch_daily_loss(self, now: datetime) -> None:
        a, local_day = self.settings.alerts, now.astimezone(self.summary.zone).date()
        if self._loss_day == local_day:
            return
        fresh = [
            v
            for v in self._views()
            if v.state == "RUNNING"
            and v.heartbeat_age is not None
            and v.heartbeat_age < FRESH_SECONDS
        ]
        for view in fresh:
            status = view.snapshot
            pnl = status.daily_pnl if status is not None else None
            equity = status.equity if status is not None else None
            if pnl is None or equity is None:
                continue
            start = equity - pnl
            limits = [
                x for x in (a.daily_loss, a.daily_loss_pct and start * a.daily_loss_pct / 100) if x
            ]
            if limits and pnl <= -min(limits):
                self._loss_day = local_day
                self.submit(
                    AlertEvent(
                        EventKind.DAILY_LOSS,
                        "critical",
                        f"account P&L today {pnl:,.2f} is past the alert threshold "
                        f"{-min(limits):,.2f}",
                        now,
                        data={
                            "daily_pnl": pnl,
                            "equity": equity,
                            "threshold": -min(limits),
                            "day": local_day.isoformat(),
                        },
                        key=local_day.isoformat(),
                    )
                )
                return

    # -- tradctl alerts -----------------------------------------------------------------------
    async def recent(self, limit: int) -> list[dict[str, Any]]:
        """Recent alerts and where each delivery stands (no secrets are ever stored)."""
        records = await asyncio.to_thread(self.outbox.recent, limit)
        return [
            {
                "id": r.alert.id,
                "created_at": r.alert.created_at.isoformat(),
                "kind": r.alert.kind,
                "severity": r.alert.severity,
                "strategy": r.alert.strategy,
                "subject": r.alert.subject,
                "suppressed": r.alert.suppressed,
                "deliveries": [
                    {
                        "channel": d.channel,
                        "status": d.status,
                        "attempts": d.attempts,
                        "error": d.last_error,
                    }
                    for d in r.deliveries
                ],
            }
            for r in records
        ]

    async def test(self, channels: Sequence[str], timeout: float) -> dict[str, Any]:
        """Send a test alert on `channels` (default: every enabled one) and wait for the result."""
        chosen = list(channels) or list(self.dispatcher.channels)
        if not chosen:
            return {"ok": False, "message": "no alert channel is enabled", "deliveries": {}}
        now = self._clock()
        alert = Alert(
            "test", "info", "test alert from tradd", "If you can read this, alerts work.", now
        )
        stored = await self._store(alert, chosen)
        return await self._outcome(stored, chosen, timeout)

    async def _outcome(
        self, alert: Alert, channels: Sequence[str], timeout: float
    ) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            record = await asyncio.to_thread(self.outbox.find, alert.id)  # type: ignore[arg-type]
            states = {d.channel: d for d in record.deliveries} if record else {}
            done = all(
                c in states and (states[c].status != "pending" or states[c].attempts)
                for c in channels
            )
            if done or loop.time() >= deadline:
                break
            await asyncio.sleep(0.05)  # polling the outbox: the dispatcher marks it
        out = {
            c: {
                "status": states[c].status if c in states else "unknown",
                "attempts": states[c].attempts if c in states else 0,
                "error": states[c].last_error if c in states else None,
            }
            for c in channels
        }
        return {
            "ok": all(v["status"] == "sent" for v in out.values()),
            "id": alert.id,
            "deliveries": out,
        }
