"""The trading day so far, as a ticker shows it: open, high, low, volume and prior close.

IB's open (14), high (6), low (7) and volume (8) ticks describe the session in
progress, and close (9) is the previous session's close. All of them are cut
from the tape's buckets, so they agree with the day's bars: the day's volume is
exactly the sum of the five-second bar volumes up to the bucket, the high the
highest of their highs. The trading day is the exchange-local day of the
instrument (``Tape.days``), not the UTC day.

``DayStats.after`` updates the numbers per bucket in O(1); ``day_stats`` computes
them from scratch (at the first bucket of a day, or for a subscriber when the
simulator has not published the bucket yet; then every earlier bar of the day is
expanded once).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tradd.simgw.tape import BUCKET, Buckets, Quote, Tape


@dataclass(frozen=True)
class DayStats:
    """The session up to and including the bucket starting at ``bucket_start``."""

    bucket_start: int
    day: int
    open: float
    high: float
    low: float
    volume: int
    prev_close: float  # NaN when the tape has no earlier session
    notional: float = 0.0  # sum of bucket close x bucket volume: the VWAP's numerator

    @property
    def vwap(self) -> float:
        return self.notional / self.volume if self.volume else math.nan

    def after(self, tape: Tape, quote: Quote) -> DayStats:
        """The stats including a later bucket of the same day; a new day starts afresh.

        The replay publishes every trading bucket in order, so buckets skipped since
        the last call had no trades (gaps in intraday data) and the sums stay exact.
        """
        i = tape.bar_index(quote.bucket_start)
        same_day = i is not None and int(tape.days[i]) == self.day
        if not same_day or quote.bucket_start <= self.bucket_start:
            return day_stats(tape, quote)
        return DayStats(quote.bucket_start, self.day, self.open, max(self.high, quote.high),
                        min(self.low, quote.low), self.volume + quote.volume,
                        self.prev_close, self.notional + quote.last * quote.volume)  # fmt: skip


def day_stats(tape: Tape, quote: Quote) -> DayStats:
    """The session of ``quote``'s bucket up to that bucket, from the tape alone."""
    i = tape.bar_index(quote.bucket_start)
    if i is None:  # not a trading bucket: only what the quote itself says
        return DayStats(quote.bucket_start, -1, quote.open, quote.high, quote.low, quote.volume,
                        math.nan, quote.last * quote.volume)  # fmt: skip
    day = int(tape.days[i])
    first = int(np.searchsorted(tape.days, day, side="left"))
    buckets = tape.buckets(i)
    k = (quote.bucket_start - buckets.start) // BUCKET + 1
    high = float(buckets.high[:k].max())
    low = float(buckets.low[:k].min())
    volume = int(buckets.volume[:k].sum())
    notional = _notional(buckets, k)
    for j in range(first, i):  # earlier source bars of the day (intraday data only)
        earlier = tape.buckets(j)
        high, low = max(high, float(earlier.high.max())), min(low, float(earlier.low.min()))
        volume += int(earlier.volume.sum())
        notional += _notional(earlier, len(earlier))
    prev_close = float(tape.bars.close[first - 1]) if first > 0 else math.nan
    return DayStats(quote.bucket_start, day, float(tape.bars.open[first]), high, low, volume,
                    prev_close, notional)  # fmt: skip


def _notional(buckets: Buckets, k: int) -> float:
    return float(np.dot(buckets.close[:k], buckets.volume[:k].astype(np.float64)))
