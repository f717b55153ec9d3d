"""Events the supervisor hears (from workers and its own) as alert events.

A worker reports a halt; what the operator needs to read is why: a position mismatch and
a strategy exception are their own kinds. Risk breaches are told apart by rule, stale data
by symbol, so that one rule's storm does not hide another's.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tradd.alerts.model import SEVERITIES, AlertEvent, Severity
from tradd.worker.events import WorkerEvent


def from_worker(strategy: str, event: dict[str, Any]) -> AlertEvent:
    kind, message = str(event.get("kind", "event")), str(event.get("message", ""))
    data = {k: v for k, v in event.items() if k not in ("seq", "at", "kind", "severity", "message")}
    data.update(data.pop("data", None) or {})
    if kind == "halted" and message.startswith("position mismatch"):
        kind = "mismatch"
    elif kind == "halted" and message.startswith("strategy error"):
        kind = "strategy_error"
    key = str(data.get("rule") or data.get("symbol") or "")
    return AlertEvent(
        kind,
        _severity(event.get("severity")),
        message,
        _at(event.get("at")),
        strategy=strategy,
        data=data,
        key=key,
    )


def from_supervisor(event: WorkerEvent) -> AlertEvent:
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


def _severity(value: Any) -> Severity:
    return value if value in SEVERITIES else "warning"


def _at(value: Any) -> datetime:
    try:
        at = datetime.fromisoformat(str(value))
    except ValueError:
        return datetime.now(UTC)
    return at if at.tzinfo else at.replace(tzinfo=UTC)
