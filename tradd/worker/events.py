"""Events a worker raises for operators: risk breaches, disconnects, mismatches, halts.

Each event is logged (JSON, with the strategy bound) and kept in a short ring buffer that
the command channel serves (`events`), which is how the supervisor picks them up to alert.
The record and its kinds are tradd.records.events: the supervisor reads what this writes.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from datetime import datetime
from typing import Any

import structlog

from tradd.records.events import Event, EventKind, HaltCause, Severity

log = structlog.get_logger("tradd.worker.events")


class EventLog:
    def __init__(self, strategy: str, clock: Callable[[], datetime], keep: int = 1000) -> None:
        self._strategy, self._clock = strategy, clock
        self._events: deque[Event] = deque(maxlen=keep)
        self._seq = 0
        self.on_emit: Callable[[Event], None] = lambda _event: None
        """Called after each event (the operator answers waiting `events` requests)."""

    def emit(
        self,
        kind: EventKind,
        severity: Severity,
        message: str,
        *,
        cause: HaltCause | None = None,
        **data: Any,
    ) -> Event:
        self._seq += 1
        event = Event(seq=self._seq, at=self._clock(), kind=kind, severity=severity,
                      message=message, data=data, cause=cause)  # fmt: skip
        self._events.append(event)
        level = {"info": log.info, "warning": log.warning, "critical": log.error}[severity]
        extra = {"cause": str(cause)} if cause is not None else {}
        level("worker event", kind=str(kind), message=message, **extra, **data)
        self.on_emit(event)
        return event

    @property
    def seq(self) -> int:
        """The newest event's number (0: none yet); status snapshots carry it."""
        return self._seq

    def since(self, seq: int) -> list[Event]:
        return [e for e in self._events if e.seq > seq]

    def kinds(self) -> list[EventKind]:
        return [e.kind for e in self._events]
