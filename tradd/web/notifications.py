"""The console's notifications through the alert system: an analysis complete or failed, an
entry blocked by risk.

An entry executed is alerted once, by the daemon: the worker raises `operator_entry` as it
sends the order, naming who asked (`web:<user> (job <id>)`, `requested_by`). That alert
is raised where the order is placed, whatever becomes of the console after, and for
`tradctl enter` and `tradd scan --execute` alike; a second one from the console would only
say the same thing twice. A blocked entry places nothing, so the worker raises no
`operator_entry`: the console's `entry_blocked` is the one naming the user and the rules.

They go out exactly as the daemon's alerts do, from the same `[alerts]` settings: routed
by the daemon's router (`[alerts.events]` per kind, else `[alerts.routes]` per severity,
with its deduplication), stored in the daemon's outbox before anything is sent (so
`tradctl alerts list` and the Live page show them, and a pending delivery survives a
restart of the console), and delivered by the daemon's dispatcher and channels running
in the console, on a thread with an event loop of its own.

The console's deliveries are on lanes of their own: `web:email`, `web:sms`,
`web:webhook`. The daemon's dispatcher only looks at `email`, `sms` and `webhook`, and the
outbox has no claim on a delivery, so sharing its lanes would let both processes send one
delivery; apart, each sends only its own, and the console's go out whether the daemon
runs or not. A notification never fails the request that raised it: what cannot be
stored is logged and dropped.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy.orm import Session, sessionmaker

from tradd.alerts.channels import build_channels
from tradd.alerts.dispatch import Dispatcher
from tradd.alerts.model import Alert, AlertEvent, Channel
from tradd.alerts.outbox import Outbox
from tradd.alerts.router import AlertRouter
from tradd.config.alerts import AlertSettings
from tradd.records.events import EventKind
from tradd.research.jobs.store import JobRecord
from tradd.research.runs.store import RunRecord
from tradd.web.jobs.views import job_status
from tradd.web.records import ExecuteReply, ExecutionOutcome, JobStatusName, SymbolExecution

log = structlog.get_logger("tradd.web.notifications")
LANE = "web:"
"""The prefix of the console's delivery lanes (`web:email`...)."""
STOP_TIMEOUT = 10.0
ERROR_CHARS = 300


class _Lane:
    """A channel under the console's lane name (the dispatcher keys lanes by `name`)."""

    def __init__(self, name: str, channel: Channel) -> None:
        self.name = name
        self._channel = channel

    async def send(self, alert: Alert) -> str:
        return await self._channel.send(alert)


def requested_by(user: str, job_id: str | None = None) -> str:
    """Who the daemon's events and alerts name for a console request (<= 64 characters:
    user names are <= 32, job ids 20)."""
    who = f"web:{user}"
    return f"{who} (job {job_id})" if job_id else who


class Notifier:
    def __init__(
        self,
        settings: AlertSettings,
        sessions: sessionmaker[Session],
        clock: Callable[[], datetime],
        monotonic: Callable[[], float],
        channels: Mapping[str, Channel] | None = None,
    ) -> None:
        """`channels`: name -> channel (default: those `[alerts]` enables, as the daemon
        builds them)."""
        built = build_channels(settings) if channels is None else channels
        lanes: dict[str, Channel] = {LANE + n: _Lane(LANE + n, c) for n, c in built.items()}
        self._router = AlertRouter(settings, monotonic)
        self._outbox = Outbox(sessions, clock)
        self._dispatcher = Dispatcher(self._outbox, lanes, settings, clock=clock,
                                      monotonic=monotonic)  # fmt: skip
        self._clock = clock
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def lanes(self) -> tuple[str, ...]:
        return self._dispatcher.channels

    # -- the sender thread --------------------------------------------------------------
    def start(self) -> None:
        """Start delivering (with whatever a previous console left pending); nothing to
        do when no channel is enabled."""
        if not self.lanes or self._thread is not None:
            return
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.run_until_complete(self._dispatcher.start())
            ready.set()
            loop.run_forever()
            loop.close()

        self._loop = loop
        self._thread = threading.Thread(target=run, name="web-notifier", daemon=True)
        self._thread.start()
        ready.wait(STOP_TIMEOUT)

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """Store the suppressed counts, let a send under way finish (within `timeout`),
        stop; what is still pending goes out after the next start."""
        with self._lock:
            flushed = self._router.flush(force=True)
        for alert in flushed:
            self._store(alert)
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._dispatcher.stop(timeout), loop).result(
                timeout + STOP_TIMEOUT
            )
        except Exception as exc:  # stopping must not fail the console's shutdown
            log.warning("notifier did not stop cleanly", error=repr(exc))
        loop.call_soon_threadsafe(loop.stop)
        thread.join(STOP_TIMEOUT)
        self._loop = self._thread = None

    # -- notifications ------------------------------------------------------------------
    def notify(self, event: AlertEvent) -> Alert | None:
        """Route, store and wake the sender; None when deduplicated or not stored."""
        with self._lock:
            due = self._router.flush()
            alert = self._router.route(event)
        stored = [self._store(a) for a in (*due, *([alert] if alert else []))]
        return stored[-1] if alert is not None and stored else None

    def _store(self, alert: Alert) -> Alert | None:
        wanted = self._router.channels(alert.kind, alert.severity)
        lanes = [LANE + c for c in wanted if LANE + c in self.lanes]
        try:
            stored = self._outbox.add(alert, lanes)
        except Exception as exc:
            log.warning("notification not stored", kind=alert.kind, subject=alert.subject,
                        error=str(exc).split("\n")[0])  # fmt: skip
            return None
        log.info("notification", kind=alert.kind, subject=alert.subject, lanes=lanes,
                 id=stored.id)  # fmt: skip
        loop = self._loop
        if lanes and loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._dispatcher.wake)
        return stored

    def job_ended(self, job: JobRecord, run: RunRecord | None) -> Alert | None:
        """An analysis complete or failed (a cancelled one is the user's own doing)."""
        status = job_status(job, run, self._clock())
        what = f"{job.kind} job {job.id} of {job.owner}"
        data: dict[str, Any] = {"job_id": job.id, "owner": job.owner, "job_kind": job.kind}
        if status.status is JobStatusName.COMPLETED:
            best = _best(run.summary if run else None) if job.kind == "scan" else ""
            text = f"{what} complete" + (f": best {best}" if best else "")
            event = AlertEvent(EventKind.ANALYSIS_COMPLETE, "info", text, self._clock(),
                               data={**data, "best": best}, key=job.id)  # fmt: skip
        elif status.status is JobStatusName.FAILED:
            error = " ".join((status.error or "no reason recorded").split())[-ERROR_CHARS:]
            event = AlertEvent(EventKind.ANALYSIS_FAILED, "warning", f"{what} failed: {error}",
                               self._clock(), data={**data, "error": error},
                               key=job.id)  # fmt: skip
        else:
            return None
        return self.notify(event)

    def blocked(self, user: str, reply: ExecuteReply) -> list[Alert]:
        """One notification per symbol the daemon's gates refused (an entered one is the
        worker's `operator_entry` alert)."""
        who = requested_by(user, reply.job_id)
        sent = []
        for row in reply.results:
            if row.outcome is not ExecutionOutcome.BLOCKED:
                continue
            alert = self.notify(_blocked_event(row, who, reply.job_id, self._clock()))
            if alert is not None:
                sent.append(alert)
        return sent


def _best(summary: Mapping[str, Any] | None) -> str:
    best = (summary or {}).get("best")
    if not isinstance(best, Mapping):
        return ""
    names = [f"{symbol}: {str((b or {}).get('strategy') or '-').rsplit('.', 1)[-1]}"
             for symbol, b in sorted(best.items())]  # fmt: skip
    return ", ".join(names[:20]) + (f" and {len(names) - 20} more" if len(names) > 20 else "")


def _blocked_event(row: SymbolExecution, who: str, job_id: str, at: datetime) -> AlertEvent:
    rules = _rules(row.rules)
    text = f"entry by {who} on {row.symbol} blocked by risk: {rules or row.reason}"
    data: dict[str, Any] = {"requested_by": who, "job_id": job_id, "symbol": row.symbol,
                            "shares": row.shares, "price": row.price, "reason": row.reason,
                            "rules": rules}  # fmt: skip
    return AlertEvent(EventKind.ENTRY_BLOCKED, "warning", text, at, row.daemon_strategy, data,
                      key=f"{job_id}:{row.symbol}")  # fmt: skip


def _rules(rules: Sequence[Any]) -> str:
    parts = []
    for r in rules:
        figures = f" (value {r.value}, limit {r.limit})" if r.limit is not None else ""
        parts.append(f"{r.rule}{figures}")
    return "; ".join(parts)
