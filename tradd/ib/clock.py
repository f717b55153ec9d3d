"""Market time for the worker: this machine's clock, or the gateway's.

Against IB the market runs on wall-clock time. `tradd simgw` replays history at any speed
(60x for `make run`), so the worker then follows the gateway's own clock, sampled with
reqCurrentTime and extrapolated at the rate it is observed to run.

The simulator does not run smoothly: it skips closed time (nights, weekends, holidays)
in one jump, and may be paused, slowed or restarted. A rate measured across such a jump
is enormous, and a clock extrapolated at it races hours ahead of the data, so every
feed looks silent while bars keep coming. So the rate is measured only over the steady
stretches between samples (an interval far off the others is a jump, not a speed), the
clock steps forward to each fresh sample (over a jump; it never runs backwards, so after
an overshoot it stands still until the gateway catches up), and market data stamped later
than the estimate moves it forward at once (`seen`): a bar proves the gateway's clock has
reached its end.

Until the first sample the gateway's time is unknown, and the clock stands still at
`UNKNOWN` (never this machine's clock: against a simulator replaying 2006 that made the
market's time jump twenty years, and a gap fill ask for twenty years of bars). No market
is open then, no feed is stale and no gap is due; it retries the sample on every call.
"""

from __future__ import annotations

import itertools
import statistics
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

MIN_RATE_WINDOW = 5.0
"""Wall seconds of steady samples before the gateway's clock rate is trusted."""
RATE_WINDOW = 30.0
"""Wall seconds of samples the rate is measured over (it follows a change of speed)."""
JUMP_FACTOR = 3.0
"""An interval running this many times faster than the typical one is a jump in time."""
JUMP_SLACK = 2.0
"""Server seconds of slack on that test: reqCurrentTime has whole-second resolution."""


UNKNOWN = datetime(1970, 1, 1, tzinfo=UTC)
"""The gateway clock's time before its first sample: far in the past, it stands still."""


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
        self._samples: deque[tuple[float, datetime]] = deque()
        """Recent (wall, server) samples, the rate's window."""
        self._sampled_at: float | None = None
        self._anchor: tuple[float, datetime] | None = None
        """Where extrapolation starts: the newest sample, or newer data (`seen`)."""
        self._rate = 0.0
        """Unknown until measured: standing still is safe (data is never "from the future")."""
        self._latest = UNKNOWN

    @property
    def known(self) -> bool:
        """Whether the gateway's time has been sampled (or data from it seen)."""
        return self._anchor is not None

    @property
    def rate(self) -> float:
        """Gateway seconds per wall second (0 until measured)."""
        return self._rate

    def __call__(self) -> datetime:
        now = self._wall()
        due = self._sampled_at is None or now - self._sampled_at >= self._every
        if due or self._anchor is None:  # unknown: every call tries (a failure is quick)
            self._observe(now)
        if self._anchor is None:
            return self._latest  # UNKNOWN: stand still, never this machine's clock
        estimate = self._extrapolate(now)
        self._latest = max(self._latest, estimate)  # never backwards between samples
        return self._latest

    def seen(self, stamp: datetime) -> None:
        """Data stamped `stamp` came from the gateway: its clock has reached it."""
        now = self._wall()
        if self._anchor is None or stamp > self._extrapolate(now):
            self._anchor = (now, stamp)

    def _observe(self, now: float) -> None:
        self._sampled_at = now
        try:
            server = self._sample()
        except Exception:  # disconnected: keep extrapolating from the last anchor
            return
        self._anchor = (now, server)
        self._samples.append((now, server))
        while len(self._samples) > 2 and now - self._samples[0][0] > RATE_WINDOW:
            self._samples.popleft()
        self._rate = steady_rate(list(self._samples), self._rate)

    def _extrapolate(self, now: float) -> datetime:
        assert self._anchor is not None
        wall, server = self._anchor
        return server + timedelta(seconds=(now - wall) * self._rate)


def steady_rate(samples: list[tuple[float, datetime]], previous: float) -> float:
    """Server seconds per wall second over the intervals between `samples`, leaving out
    jumps (an interval much faster than the median one, or one running backwards);
    `previous` until the steady intervals span MIN_RATE_WINDOW wall seconds."""
    intervals = [
        (w2 - w1, (s2 - s1).total_seconds())
        for (w1, s1), (w2, s2) in itertools.pairwise(samples)
        if w2 > w1
    ]
    if not intervals:
        return previous
    typical = statistics.median_low(ds / dw for dw, ds in intervals)
    steady = [
        (dw, ds) for dw, ds in intervals if 0 <= ds <= typical * dw * JUMP_FACTOR + JUMP_SLACK
    ]
    wall = sum(dw for dw, _ in steady)
    if wall < MIN_RATE_WINDOW:
        return previous
    return max(0.0, sum(ds for _, ds in steady) / wall)
