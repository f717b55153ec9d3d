"""The simulated clock and the loop that moves the tape forward.

Simulated time advances at ``speed`` times real time; every five simulated
seconds the tape completes a bucket and the gateway publishes it. With
``speed`` 0 the clock stands still and only moves when told to
(``SimGateway.advance``), which is how tests get exact, repeatable timelines.
When every instrument is closed the clock may skip ahead to the next open so a
rehearsal does not sit through nights and weekends.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from tradd.simgw.tape import BUCKET

Sleep = Callable[[float], Awaitable[None]]
MAX_SLICE = 0.25
SPIN = 0.002


class SimClock:
    """Simulated epoch seconds as a function of a monotonic real clock."""

    def __init__(
        self, start: float, speed: float, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        if speed < 0:
            raise ValueError(f"speed must be >= 0, got {speed}")
        self.speed = speed
        self._monotonic = monotonic
        self._base_sim = float(start)
        self._base_real = monotonic()

    def now(self) -> float:
        return self._base_sim + (self._monotonic() - self._base_real) * self.speed

    def set(self, sim_time: float) -> None:
        """Jump (forward only in practice: skipping closed markets, or manual advance)."""
        self._base_sim = float(sim_time)
        self._base_real = self._monotonic()

    def real_delay(self, sim_time: float) -> float:
        """Real seconds until the clock reads ``sim_time`` (infinite when paused)."""
        if self.speed == 0:
            return float("inf")
        return max((sim_time - self.now()) / self.speed, 0.0)


class ReplayLoop:
    """Calls ``step(t)`` for every bucket boundary ``t`` as the clock passes it."""

    def __init__(
        self,
        clock: SimClock,
        step: Callable[[int], None],
        next_open: Callable[[int], int | None],
        *,
        prefetch: Callable[[int], None] = lambda t: None,
        skip_closed: bool = True,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.clock = clock
        self._step = step
        self._next_open = next_open
        self._skip_closed = skip_closed
        self._sleep = sleep
        self._prefetch = prefetch
        self.next_boundary = (int(clock.now()) // BUCKET + 1) * BUCKET

    def run_until(self, sim_time: float) -> int:
        """Process every boundary up to ``sim_time``; returns how many buckets were stepped."""
        steps = 0
        while self.next_boundary <= sim_time:
            self._step(self.next_boundary)
            self.next_boundary += BUCKET
            steps += 1
        return steps

    async def run(self) -> None:
        """Pace the steps to the real clock until cancelled (returns at once when paused).

        Long waits are cut into slices of at most ``MAX_SLICE``: the kernel may overrun
        a timer by 0.1% of its length (5 ms on a 5 s sleep), and the last millisecond
        is spent yielding to the loop rather than sleeping, so a bucket goes out
        within about a millisecond of its simulated time. Work for the next bucket
        (expanding a new bar's path) is done right after the messages are flushed.
        """
        while self.clock.speed > 0:
            await self._wait_for(self.next_boundary)
            self.run_until(self.clock.now())
            self._maybe_skip()
            await self._sleep(0)  # let the sessions flush this bucket first
            self._prefetch(self.next_boundary - BUCKET)

    async def _wait_for(self, boundary: int) -> None:
        delay = self.clock.real_delay(boundary)
        while delay > 2 * SPIN:
            await self._sleep(min(delay - SPIN, MAX_SLICE))
            delay = self.clock.real_delay(boundary)
        while self.clock.real_delay(boundary) > 0:
            await self._sleep(0)

    def _maybe_skip(self) -> None:
        if not self._skip_closed:
            return
        now = int(self.clock.now())
        opens = self._next_open(now)
        if opens is not None and opens - now > 60:
            self.clock.set(opens - BUCKET)
            self.next_boundary = opens // BUCKET * BUCKET
