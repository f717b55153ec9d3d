"""What flows through the alert pipeline, as plain frozen data.

`AlertEvent` is what happened (a worker's or the supervisor's event, the daily summary);
the router turns it into an `Alert` (subject and body for people, the channels it goes to,
how many similar ones were suppressed before it); the outbox stores each `Alert` with one
delivery per channel; a `Channel` sends one `Alert`, raising `ChannelError` when it could
not (`temporary`: try again later; otherwise the delivery is marked failed at once).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from tradd.records.events import EventKind, Severity

CHANNELS = ("email", "sms", "webhook")


@dataclass(frozen=True)
class AlertEvent:
    kind: EventKind
    """risk_breach, daily_loss, mismatch, disconnected, reconnected, circuit_open,
    data_stale, strategy_error, halted, crash_loop, worker_hung, flatten, daily_summary,
    test, ... (docs/metrics-alerts.md lists them)."""
    severity: Severity
    message: str
    at: datetime
    strategy: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    key: str = ""
    """What makes two events "the same" for deduplication, besides kind and strategy (e.g.
    the risk rule); "" when kind and strategy say it all."""

    @property
    def dedup_key(self) -> str:
        return f"{self.kind}|{self.strategy or '-'}|{self.key}"


@dataclass(frozen=True)
class Alert:
    """One message for people, as stored in the outbox and sent by the channels."""

    kind: str
    severity: Severity
    subject: str
    body: str
    created_at: datetime
    strategy: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    suppressed: int = 0
    """Similar alerts suppressed (deduplicated or rate-limited) since the last one sent."""
    id: int | None = None
    """The outbox id once stored (channels put it in the message for reference)."""


class ChannelError(Exception):
    def __init__(self, message: str, *, temporary: bool = True) -> None:
        super().__init__(message)
        self.temporary = temporary


class Channel(Protocol):
    """One way of reaching people. `send` must not block the event loop and must finish
    (or raise) within its own timeout."""

    name: str

    async def send(self, alert: Alert) -> str:
        """Deliver `alert`; returns a receipt for the log (e.g. the SMTP reply, a Twilio
        message SID). Raises ChannelError."""
        ...
