"""What crosses between the pool's parent and its workers, and what the caller's sink gets."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

R = TypeVar("R")


class Cause(enum.Enum):
    """Why a unit has no result."""

    RAISED = "raised"
    """The unit raised an exception; its worker goes on with the next unit."""
    DIED = "died"
    """Its worker process died (killed, out of memory, a crash in native code)."""
    ABORTED = "aborted"
    """Killed by `abort()` or a second Ctrl-C."""
    NOT_RUN = "not run"
    """Every worker process was lost before the unit started."""


class Ending(enum.Enum):
    """How a run ended."""

    FINISHED = "finished"
    CANCELLED = "cancelled"
    ABORTED = "aborted"


@dataclass(frozen=True)
class Note:
    """Something a unit reported while it ran (a finished trial, a row)."""

    index: int
    payload: Any


@dataclass(frozen=True)
class Done(Generic[R]):
    index: int
    result: R


@dataclass(frozen=True)
class Failed:
    index: int
    cause: Cause
    reason: str
    """For people: "ValueError: ...", "worker process killed by SIGKILL ..."."""


Event = Note | Done[R] | Failed


@dataclass(frozen=True)
class Broken:
    """A worker could not set itself up (`work(slot)` raised); it exits without a unit."""

    reason: str
