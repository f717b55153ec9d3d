"""Market time for the worker: this machine's clock, or the gateway's.

Against IB the market runs on wall-clock time. `tradd simgw` replays history at any speed
(60x for `make run`), so the worker then follows the gateway's own clock, sampled with
reqCurrentTime and extrapolated at the rate it is observed to run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

MIN_RATE_WINDOW = 5.0
"""Wall seconds between samples before the gateway's clock rate is trusted."""
RATE_WINDOW = 30.0


def system_clock() -> datetime:
    return datetime.now(UTC)


class GatewayClock:
    def __init__(
        self,
        sample: Callable[[], datetime],
        *,
        every: float = 2.0,
        wall: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sample, self._every, self._wall = sample, every, wall
        self._first: tuple[float, datetime] | None = None
        self._last: tuple[float, datetime] | None = None
        self._rate = 0.0
        """Unknown until measured: standing still is safe (data is never "from the future")."""
        self._latest = datetime.min.replace(tzinfo=UTC)

    def __call__(self) -> datetime:
        now = self._wall()
        if self._last is None or now - self._last[0] >= self._every:
            self._observe(now)
        if self._last is None:
            return system_clock()
        wall, server = self._last
        estimate = server + timedelta(seconds=(now - wall) * self._rate)
        self._latest = max(self._latest, estimate)  # never backwards
        return self._latest

    def _observe(self, now: float) -> None:
        try:
            server = self._sample()
        except Exception:  # disconnected: keep extrapolating from the last sample
            if self._last is not None:
                self._last = (now, self._extrapolate(now))
            return
        self._last = (now, server)
        if self._first is None:
            self._first = (now, server)
        elif now - self._first[0] >= MIN_RATE_WINDOW:
            elapsed = (server - self._first[1]).total_seconds()
            self._rate = max(0.0, elapsed / (now - self._first[0]))
            if now - self._first[0] >= RATE_WINDOW:
                self._first = self._last  # follow a gateway whose speed changes

    def _extrapolate(self, now: float) -> datetime:
        assert self._last is not None
        return self._last[1] + timedelta(seconds=(now - self._last[0]) * self._rate)
