"""Events a worker raises for operators: risk breaches, disconnects, mismatches, halts.

Each event is logged (JSON, with the strategy bound) and kept in a short ring buffer that
the command channel serves (`events`), which is how the supervisor picks them up to alert.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

import structlog

Severity = Literal["info", "warning", "critical"]
log = structlog.get_logger("tradd.worker.events")


@dataclass(frozen=True)
class WorkerEvent:
    seq: int
    at: datetime
    kind: str
    """e.g. risk_breach, disconnected, reconnected, circuit_open, data_stale, mismatch,
    halted, flatten, strategy_error, order_rejected."""
    severity: Severity
    message: str
    data: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["at"] = self.at.isoformat()
        return out


class EventLog:
    def __init__(self, strategy: str, clock: Callable[[], datetime], keep: int = 1000) -> None:
        self._strategy, self._clock = strategy, clock
        self._events: deque[WorkerEvent] = deque(maxlen=keep)
        self._seq = 0
        self.on_emit: Callable[[WorkerEvent], None] = lambda _event: None
        """Called after each event (the operator answers waiting `events` requests)."""

    def emit(self, kind: str, severity: Severity, message: str, **data: Any) -> WorkerEvent:
        self._seq += 1
        event = WorkerEvent(self._seq, self._clock(), kind, severity, message, data)
        self._events.append(event)
        level = {"info": log.info, "warning": log.warning, "critical": log.error}[severity]
        level("worker event", kind=kind, message=message, **data)
        self.on_emit(event)
        return event

    @property
    def seq(self) -> int:
        """The newest event's number (0: none yet); status snapshots carry it."""
        return self._seq

    def since(self, seq: int) -> list[WorkerEvent]:
        return [e for e in self._events if e.seq > seq]

    def kinds(self) -> list[str]:
        return [e.kind for e in self._events]
