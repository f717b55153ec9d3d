"""The orders-per-minute window: how many orders passed the gate in the last 60 seconds.

A runaway strategy (a loop that re-sends an order every bar, a bug that flips position
on every tick) shows first as an order rate no human trader would produce. Time comes
from the caller (`Portfolio.now`), never from the system clock, so a backtest replays
the window exactly and tests can slide it by hand.
"""

from __future__ import annotations

from bisect import bisect_right, insort
from datetime import datetime, timedelta

MINUTE = timedelta(seconds=60)


class OrderRateWindow:
    """Times of the orders that passed, kept sorted; entries older than the window drop out.

    An order at `t` counts while `now - window < t`, so an order exactly 60 s old no longer
    counts. A clock that steps backwards (a caller's bug) is tolerated: the time is inserted
    in order and nothing newer is dropped.
    """

    def __init__(self, window: timedelta = MINUTE) -> None:
        if window <= timedelta(0):
            raise ValueError(f"OrderRateWindow.window: {window} is not positive")
        self._window = window
        self._times: list[datetime] = []

    def count(self, now: datetime) -> int:
        """Orders in the window ending at `now` (forgetting the ones before it)."""
        expired = bisect_right(self._times, now - self._window)
        del self._times[:expired]
        return len(self._times)

    def record(self, now: datetime) -> None:
        insort(self._times, now)
