"""Who gets a connection slot on the control socket, and who makes room.

At most `limit` ordinary connections are open at once. A new one arriving at the cap
sheds the connection that has been idle longest (waiting for a request, not being
answered): a client that holds a socket and says nothing must never keep out the
operator who needs `status` or `flatten` now. When every ordinary slot is busy answering
a request, a few reserved slots take one request each, and only an essential command
(`status`, `health`, `flatten`); past those, the connection is told `busy`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

ESSENTIAL = frozenset({"status", "health", "flatten"})
"""Commands a reserved slot answers: see and stop the trading, whatever else is going on."""
RESERVED_SLOTS = 4


@dataclass(eq=False)
class Slot:
    since: float
    """Monotonic time it became idle (connected, or answered its last request)."""
    reserved: bool = False
    idle: bool = True
    task: asyncio.Task[None] | None = field(default=None, repr=False)
    abort: Callable[[], object] | None = field(default=None, repr=False)
    """Drop the connection at once (its transport's `abort`), set once it has one."""


class Admission:
    def __init__(self, limit: int, reserved: int = RESERVED_SLOTS) -> None:
        self.limit, self.reserved = limit, reserved
        self._slots: list[Slot] = []  # oldest first
        self.shed = 0
        """Idle connections closed to make room (for the log and tests)."""

    def __len__(self) -> int:
        return len(self._slots)

    @property
    def answering(self) -> int:
        """Connections whose request is being answered."""
        return sum(1 for s in self._slots if not s.idle)

    def admit(self, now: float) -> Slot | None:
        """A slot for a new connection; None when every slot, reserved ones too, is busy."""
        if self._ordinary() >= self.limit:
            self.shed_idle()
        if self._ordinary() < self.limit:
            slot = Slot(now)
        elif len(self._slots) - self._ordinary() < self.reserved:
            slot = Slot(now, reserved=True)
        else:
            return None
        self._slots.append(slot)
        return slot

    def shed_idle(self) -> bool:
        """Close the ordinary connection idle longest; False if none is idle."""
        idle = [s for s in self._slots if s.idle and not s.reserved]
        if not idle:
            return False
        victim = min(idle, key=lambda s: s.since)
        self.leave(victim)
        if victim.abort is not None:
            victim.abort()
        if victim.task is not None:
            victim.task.cancel()
        self.shed += 1
        return True

    def busy(self, slot: Slot) -> None:
        slot.idle = False

    def idle(self, slot: Slot, now: float) -> None:
        slot.idle, slot.since = True, now

    def leave(self, slot: Slot | None) -> None:
        if slot is not None and slot in self._slots:
            self._slots.remove(slot)

    def _ordinary(self) -> int:
        return sum(1 for s in self._slots if not s.reserved)
