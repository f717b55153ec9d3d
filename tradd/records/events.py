"""Events, typed: every kind the worker and the supervisor raise, and the record of one.

A worker's events reach the supervisor over the worker socket (`events`), the daemon's
own over the control socket; alerts route them by kind (`[alerts.events]`, whose keys
must be `EventKind`s). A kind not listed here is a protocol error, not a new alert.

Why a strategy halted is a field of its `halted` event (`cause`), never words of its
message: alerts raise a position mismatch and a strategy exception as kinds of their own.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import Field

from tradd.records.base import Record

Severity = Literal["info", "warning", "critical"]
SEVERITIES: tuple[Severity, ...] = ("info", "warning", "critical")


class EventKind(StrEnum):
    # a worker's
    RISK_BREACH = "risk_breach"
    MISMATCH = "mismatch"
    DISCONNECTED = "disconnected"
    RECONNECTED = "reconnected"
    CIRCUIT_OPEN = "circuit_open"
    DATA_STALE = "data_stale"
    DATA_RESUMED = "data_resumed"
    HALTED = "halted"
    ORDER_REJECTED = "order_rejected"
    RESYNC_FAILED = "resync_failed"
    FLATTEN = "flatten"
    OPERATOR_ENTRY = "operator_entry"
    """An operator's entry sent (`tradctl enter`, `tradd scan --execute`, the console's
    execute), naming who asked: the one alert of an entry executed."""
    # the supervisor's
    CRASH_LOOP = "crash_loop"
    WORKER_CRASHED = "worker_crashed"
    WORKER_HUNG = "worker_hung"
    WORKER_CONFIG_ERROR = "worker_config_error"
    WORKER_FATAL = "worker_fatal"
    WORKER_SPAWN_FAILED = "worker_spawn_failed"
    RELOAD_REJECTED = "reload_rejected"
    PAUSED = "paused"
    """An operator paused a strategy (exits only), naming who (`requested_by`)."""
    RESUMED = "resumed"
    # parameter promotion (tradd.supervisor.promotion), naming who decided (`by`)
    PARAMS_PROMOTED = "params_promoted"
    """A proposal's parameters written as a new version of the params file and the
    strategy reloaded with them (approved, or `auto_promote`)."""
    PARAMS_ROLLED_BACK = "params_rolled_back"
    PROPOSAL_REJECTED = "proposal_rejected"
    PROMOTION_FAILED = "promotion_failed"
    """An approved or automatic promotion (or a rollback) whose reload was refused: the
    previous parameters stay live."""
    # the web console's (tradd.web.notifications), sent through the same channels
    ANALYSIS_COMPLETE = "analysis_complete"
    ANALYSIS_FAILED = "analysis_failed"
    ENTRY_BLOCKED = "entry_blocked"
    # the daemon's scheduler (tradd.supervisor.schedules)
    SCHEDULE_COMPLETE = "schedule_complete"
    """A scheduled research job finished: its report (email) or one-line summary."""
    SCHEDULE_FAILED = "schedule_failed"
    """A scheduled research job failed, was killed or interrupted (with its log's end)."""
    """An execute from the console refused by the daemon's risk or trading gate (the rules)."""
    # alerts' own: a halt's cause as its kind, the P&L watch, the summary, a test
    STRATEGY_ERROR = "strategy_error"
    """A halt caused by an exception in the strategy (see `HaltCause`)."""
    DAILY_LOSS = "daily_loss"
    DAILY_SUMMARY = "daily_summary"
    DRIFT = "drift"
    """A `tradd drift` result beyond `[drift] alert_pct` (tradd.alerts.drift), once each."""
    TEST = "test"


class HaltCause(StrEnum):
    """Why the worker halted its strategy; each is an alert kind of its own."""

    POSITION_MISMATCH = "position_mismatch"
    """The account holds what the ledger cannot explain, confirmed by a re-check."""
    STRATEGY_ERROR = "strategy_error"
    """The strategy's code raised."""

    @property
    def alert_kind(self) -> EventKind:
        return HALT_ALERTS[self]


HALT_ALERTS: dict[HaltCause, EventKind] = {
    HaltCause.POSITION_MISMATCH: EventKind.MISMATCH,
    HaltCause.STRATEGY_ERROR: EventKind.STRATEGY_ERROR,
}


class Event(Record):
    """One event as raised, logged and sent (`as_dict` for the sockets)."""

    seq: int
    """Numbered from 1 by the process that raised it (a new process starts again)."""
    at: datetime
    kind: EventKind
    severity: Severity
    message: str
    data: dict[str, Any] = Field(default_factory=dict)
    """Details for people and webhooks (a rule, a symbol, an order ref)."""
    cause: HaltCause | None = None
    """Why a `halted` event halted; None for every other kind."""

    def as_dict(self) -> dict[str, Any]:
        """The wire form: `at` in ISO form, `data` as given (the sender's JSON encoder
        copes with what it holds), `cause` only on a halt."""
        out: dict[str, Any] = {
            "seq": self.seq,
            "at": self.at.isoformat(),
            "kind": str(self.kind),
            "severity": self.severity,
            "message": self.message,
            "data": dict(self.data),
        }
        if self.cause is not None:
            out["cause"] = str(self.cause)
        return out


class EventsReply(Record):
    """A worker's answer to `events`: those after the `since` asked for, oldest first."""

    events: tuple[Event, ...]
