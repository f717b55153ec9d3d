"""Events the supervisor hears (from workers and its own) as alert events.

A worker reports a halt with its cause; what the operator needs to read is why: a position
mismatch and a strategy exception are alert kinds of their own (`HaltCause.alert_kind`).
Risk breaches are told apart by rule, stale data by symbol, so that one rule's storm does
not hide another's.
"""

from __future__ import annotations

from datetime import UTC

from tradd.alerts.model import AlertEvent
from tradd.records.events import Event, EventKind


def from_worker(strategy: str, event: Event) -> AlertEvent:
    data = dict(event.data)
    kind = event.kind
    if kind is EventKind.HALTED and event.cause is not None:
        kind = event.cause.alert_kind
    key = str(data.get("rule") or data.get("symbol") or "")
    at = event.at if event.at.tzinfo else event.at.replace(tzinfo=UTC)
    return AlertEvent(kind, event.severity, event.message, at, strategy=strategy, data=data,
                      key=key)  # fmt: skip


def from_supervisor(event: Event) -> AlertEvent:
    data = dict(event.data)
    strategy = data.pop("strategy", None)
    return AlertEvent(
        event.kind,
        event.severity,
        event.message,
        event.at,
        strategy=strategy if isinstance(strategy, str) else None,
        data=data,
    )
