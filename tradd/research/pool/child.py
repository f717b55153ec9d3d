"""The worker side of the pool: set up once, then run the units the parent sends.

Each worker reads its units from, and writes its events to, a pipe of its own. Ctrl-C is
ignored here: the parent decides how the pool stops (`fork.py`).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterable
from multiprocessing.connection import Connection
from typing import Any, Protocol, TypeVar

from tradd.research.pool.events import Broken, Cause, Done, Failed, Note

U = TypeVar("U")
R = TypeVar("R")

UnitFunction = Callable[[U, "Reporter"], R]


class StopFlag(Protocol):
    value: int


class Reporter:
    """What a running unit sees of the pool."""

    def __init__(self, pipe: Connection, stopping: StopFlag, slot: int) -> None:
        self._pipe, self._stopping, self.slot = pipe, stopping, slot
        self.index = -1
        """The unit running now (its number in submission order)."""

    def note(self, payload: Any) -> None:
        """Tell the parent something now (the sink gets `Note(index, payload)`)."""
        self._pipe.send(Note(self.index, payload))

    def stopping(self) -> bool:
        """The pool was cancelled: a unit that can end early should."""
        return bool(self._stopping.value)


def error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def child_main(
    work: Callable[[int], UnitFunction[Any, Any]],
    slot: int,
    pipe: Connection,
    stopping: StopFlag,
    inherited: Iterable[Connection],
    wake: tuple[int, int],
) -> None:
    """The worker process: `inherited` (the parent's ends of every pipe) is closed first,
    so a dead parent is an end of file here rather than a read that waits forever."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    _close(inherited, wake)
    try:
        run_unit = work(slot)
    except Exception as exc:
        pipe.send(Broken(error_text(exc)))
        return
    reporter = Reporter(pipe, stopping, slot)
    try:
        while (task := pipe.recv()) is not None:
            reporter.index, unit = task
            _send(pipe, _run_one(run_unit, unit, reporter))
    except (EOFError, OSError):  # the parent is gone
        return


def _run_one(run_unit: UnitFunction[Any, Any], unit: Any, reporter: Reporter) -> Done[Any] | Failed:
    index = reporter.index
    try:
        result = run_unit(unit, reporter)
    except Exception as exc:
        return Failed(index, Cause.RAISED, error_text(exc))
    return Done(index, result)


def _send(pipe: Connection, end: Done[Any] | Failed) -> None:
    """A result that cannot be pickled fails its unit (pickling is done before writing)."""
    try:
        pipe.send(end)
    except (EOFError, OSError):
        raise
    except Exception as exc:
        pipe.send(Failed(end.index, Cause.RAISED, f"result not sent: {error_text(exc)}"))


def _close(inherited: Iterable[Connection], wake: tuple[int, int]) -> None:
    for pipe in inherited:
        pipe.close()
    for fd in wake:
        os.close(fd)
