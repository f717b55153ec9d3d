"""The trading day so far, as a ticker shows it: open, high, low, volume and prior close.

IB's open (14), high (6), low (7) and volume (8) ticks describe the session in
progress, and close (9) is the previous session's close. All of them are cut
from the tape's buckets, so they agree with the day's bars: the day's volume is
exactly the sum of the five-second bar volumes up to the bucket, the high the
highest of their highs. The trading day is the exchange-local day of the
instrument (``Tape.days``), not the UTC day.

``DayStats.after`` updates the numbers per bucket in O(1); ``day_stats`` computes
them from scratch (at the first bucket of a day, after a jump, or for a subscriber
when the bucket has not been published yet).
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
    notional: float | None = 0.0  # sum of bucket close x volume (VWAP); None: not computed

    @property
    def vwap(self) -> float:
        if self.notional is None or not self.volume:
            return math.nan
        return self.notional / self.volume

    def after(self, tape: Tape, quote: Quote) -> DayStats:
        """The stats including a later bucket of the same day; a new day starts afresh.

        The replay publishes every trading bucket in order, so buckets skipped since
        the last call had no trades (gaps in intraday data) and the sums stay exact.
        """
        i = tape.bar_index(quote.bucket_start)
        same_day = i is not None and int(tape.days[i]) == self.day
        if not same_day or quote.bucket_start <= self.bucket_start:
            return day_stats(tape, quote)
        notional = None if self.notional is None else self.notional + quote.last * quote.volume
        return DayStats(quote.bucket_start, self.day, self.open, max(self.high, quote.high),
                        min(self.low, quote.low), self.volume + quote.volume,
                        self.prev_close, notional)  # fmt: skip


def day_stats(tape: Tape, quote: Quote, *, with_notional: bool = False) -> DayStats:
    """The session of ``quote``'s bucket up to that bucket, from the tape alone.

    Earlier source bars of the day count with their own high, low and volume (their
    buckets aggregate to exactly those). The VWAP's numerator needs their buckets
    expanded, which is slow for a long intraday session, so it is left None unless
    asked for (RTVolume) or the bucket's bar is the day's first.
    """
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
    notional: float | None = _notional(buckets, k)
    if first < i:  # earlier source bars of the day (intraday data only)
        high = max(high, float(tape.bars.high[first:i].max()))
        low = min(low, float(tape.bars.low[first:i].min()))
        volume += sum(round(float(v)) for v in tape.bars.volume[first:i])
        notional = _earlier_notional(tape, first, i, notional) if with_notional else None
    prev_close = float(tape.bars.close[first - 1]) if first > 0 else math.nan
    return DayStats(quote.bucket_start, day, float(tape.bars.open[first]), high, low, volume,
                    prev_close, notional)  # fmt: skip


def _earlier_notional(tape: Tape, first: int, i: int, notional: float | None) -> float:
    total = notional or 0.0
    for j in range(first, i):
        earlier = tape.buckets(j)
        total += _notional(earlier, len(earlier))
    return total


def _notional(buckets: Buckets, k: int) -> float:
    return float(np.dot(buckets.close[:k], buckets.volume[:k].astype(np.float64)))
