"""The worker's pulse: how the supervisor tells a busy worker from a hung one.

Commands wait in the main loop's queue behind the bars and fills already there, so a worker
working through a backlog answers `status` late although it is not hung. The heartbeat is
therefore answered on the channel thread, from a record the main loop publishes: its
latest status snapshot, how many turns it has completed and when the last one ended. The
supervisor judges the loop's progress (`loop_age`), not the reply's speed: a loop that
keeps turning is alive however long its queue, one that stops turning is hung.

The loop does as little as it can for this: each turn swaps one immutable record; the
snapshot in it is rebuilt at most every `every` seconds, or at once after a command
changed what it shows (`publish`), so a heartbeat after a `pause` reply shows the pause.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import structlog

from tradd.records.base import wire
from tradd.records.status import Heartbeat, WorkerStatus

log = structlog.get_logger("tradd.worker.pulse")
PUBLISH_EVERY = 0.25
"""Seconds between two snapshots built on a busy loop (a turn in between only counts)."""


class Beat(NamedTuple):
    """What the loop last published; replaced whole, never changed (read by another thread)."""

    turns: int
    at: float
    """When (monotonic) the loop's last turn ended."""
    status: WorkerStatus | None
    """The status snapshot (a frozen record), None before the first."""
    unread: int
    """Bars handed to the strategy and not yet read by it when the turn ended."""
    built_at: float


class Pulse:
    """Written by the main loop (`turned`, `publish`), read by the channel (`answer`).

    Also a Backtrader store: Cerebro calls `get_notifications` on every iteration of its
    loop, after the IB store's pump, whether or not that pumped; so a strategy reading a
    long run of queued bars counts as turning, as does an idle loop waking on its timer."""

    def __init__(
        self,
        build: Callable[[], WorkerStatus],
        unread: Callable[[], int],
        inbox: queue.SimpleQueue[object],
        *,
        monotonic: Callable[[], float] = time.monotonic,
        every: float = PUBLISH_EVERY,
    ) -> None:
        self._build, self._unread, self._inbox = build, unread, inbox
        self._monotonic, self._every = monotonic, every
        self._beat = Beat(0, monotonic(), None, 0, -float("inf"))
        self._failing = False

    # -- the main loop ----------------------------------------------------------------------
    def turned(self) -> None:
        """One turn of the loop completed: count it; a new snapshot if the last is old."""
        beat, now = self._beat, self._monotonic()
        if now - beat.built_at >= self._every:
            self._beat = Beat(beat.turns + 1, now, self._status(beat), self._unread(), now)
        else:
            self._beat = beat._replace(turns=beat.turns + 1, at=now, unread=self._unread())

    def publish(self) -> None:
        """A command changed the worker's state: a new snapshot now, before it is answered."""
        now = self._monotonic()
        beat = self._beat
        self._beat = beat._replace(at=now, status=self._status(beat), built_at=now)

    def _status(self, beat: Beat) -> WorkerStatus | None:
        """A new snapshot; the last one if building it failed (a bug, logged once: the
        worker goes on trading, and `status` itself answers the error)."""
        try:
            status = self._build()
        except Exception:
            if not self._failing:
                log.exception("status snapshot failed; the heartbeat keeps the last one")
            self._failing = True
            return beat.status
        self._failing = False
        return status

    # -- the channel thread -----------------------------------------------------------------
    def heartbeat(self) -> Heartbeat | None:
        """The heartbeat; None before the loop published anything (the loop answers)."""
        beat = self._beat
        if beat.status is None:
            return None
        return Heartbeat(
            **dict(beat.status),
            loop_turns=beat.turns,
            loop_age=max(0.0, self._monotonic() - beat.at),
            backlog=self._inbox.qsize() + beat.unread,
        )

    def answer(self) -> dict[str, Any] | None:
        """The heartbeat as the channel sends it (plain JSON data)."""
        heartbeat = self.heartbeat()
        return wire(heartbeat) if heartbeat is not None else None

    # -- Backtrader's store protocol ------------------------------------------------------------
    def start(self) -> None:
        """Nothing to start: the record is there from the beginning."""

    def stop(self) -> None:
        """Nothing to stop."""

    def get_notifications(self) -> list[Any]:
        self.turned()
        return []
