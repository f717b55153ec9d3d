"""What state-changing work the daemon is doing: one at a time (the control server turns
away a second with `conflict`), and an operator entry during a flatten is blocked.

A record, not a string: "is a flatten running" is `busy.kind is BusyKind.FLATTEN`, never a
test of the words an operator reads (`str(busy)`, "reload (SIGHUP)").
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class BusyKind(StrEnum):
    """The state-changing control commands, and a reload however it was asked for."""

    START = "start"
    STOP = "stop"
    RESTART = "restart"
    PAUSE = "pause"
    RESUME = "resume"
    FLATTEN = "flatten"
    RELOAD = "reload"
    PROMOTE = "promote"
    """A proposal approved, rejected or rolled back (`tradctl proposals`), or applied by
    the daemon's auto-promotion."""


@dataclass(frozen=True)
class Busy:
    kind: BusyKind
    trigger: str = ""
    """What asked for it when not a control command (e.g. SIGHUP); "" for a command."""

    def __str__(self) -> str:
        return f"{self.kind} ({self.trigger})" if self.trigger else str(self.kind)
