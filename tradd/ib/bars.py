"""Turn IB's 5-second real-time bars into the strategy's bar size, with no added delay.

A bar of length L starting at T is complete when the 5-second bar starting at T + L - 5
arrives, so it is emitted at once instead of waiting for the next period (Backtrader's own
resampler waits). A gap (no trades in the last 5 s of a period) is closed by the first bar
of a later period. Daily bars follow the exchange's trading day and close with the
session (16:00 exchange time unless told otherwise).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tradd.ib.types import Bar

DAY = 86400


class BarAggregator:
    def __init__(
        self, symbol: str, seconds: int, tz: str = "US/Eastern", session_close: time = time(16, 0)
    ) -> None:
        self.symbol, self.seconds = symbol, seconds
        self._tz = ZoneInfo(tz)
        self._close = session_close
        self._bar: Bar | None = None
        self._end: datetime | None = None
        self._seen_until: datetime | None = None
        """Start of the newest 5-s bar taken in: older or repeated ones are ignored."""
        self._emitted: datetime | None = None
        """End of the newest period already emitted: a late 5-s bar of it (after `flush`
        closed it on the market clock, which at the simulator's speed can run a little
        ahead of the data) is dropped rather than emitted as a second bar of the period."""

    def seed(self, partial: Bar, covered_until: datetime) -> None:
        """Start from a bar already in progress (the last, incomplete, historical bar),
        which holds the trades before `covered_until`."""
        self._bar = replace(partial, seconds=self.seconds)
        self._end = self.period_end(partial.start)
        epoch = int(covered_until.timestamp())
        self._seen_until = datetime.fromtimestamp(epoch - epoch % 5 - 5, UTC)

    def add(self, bar: Bar) -> list[Bar]:
        """Feed one 5-second bar; returns the bars it completed (0, 1 or 2)."""
        if self._seen_until is not None and bar.start <= self._seen_until:
            return []  # a repeat, or trades the seeded history bar already holds
        self._seen_until = bar.start
        done: list[Bar] = []
        end = self.period_end(bar.start)
        if self._emitted is not None and end <= self._emitted:
            return []
        if self._bar is not None and self._end is not None and bar.start >= self._end:
            done.append(self._bar)
            self._bar = None
        if self._bar is None:
            self._bar = Bar(
                self.symbol,
                self._period_start(bar.start, end),
                self.seconds,
                bar.open,
                bar.high,
                bar.low,
                bar.close,
                bar.volume,
            )
            self._end = end
        else:
            b = self._bar
            self._bar = replace(
                b,
                high=max(b.high, bar.high),
                low=min(b.low, bar.low),
                close=bar.close,
                volume=b.volume + bar.volume,
            )
        if bar.start + timedelta(seconds=bar.seconds) >= end:
            done.append(self._bar)
            self._bar = None
        if done:
            self._emitted = self.period_end(done[-1].start)
        return done

    def flush(self, now: datetime) -> list[Bar]:
        """Close the bar in progress if its period is over (no more 5-s bars will come)."""
        if self._bar is not None and self._end is not None and now >= self._end:
            bar, self._bar = self._bar, None
            self._emitted = self._end
            return [bar]
        return []

    def period_end(self, start: datetime) -> datetime:
        """When the period containing `start` ends (the session close for daily bars)."""
        if self.seconds >= DAY:
            local = start.astimezone(self._tz)
            close = datetime.combine(local.date(), self._close, self._tz)
            if local >= close:
                close = datetime.combine(local.date() + timedelta(days=1), self._close, self._tz)
            return close.astimezone(UTC)
        epoch = int(start.timestamp())
        return datetime.fromtimestamp(epoch - epoch % self.seconds + self.seconds, UTC)

    def _period_start(self, start: datetime, end: datetime) -> datetime:
        if self.seconds >= DAY:
            local = end.astimezone(self._tz)
            return datetime.combine(local.date(), time(), self._tz).astimezone(UTC)
        return end - timedelta(seconds=self.seconds)


def bar_end(bar: Bar, tz: str = "US/Eastern", session_close: time = time(16, 0)) -> datetime:
    """When a bar is over: start + length, or the session close for daily bars."""
    if bar.seconds >= DAY:
        local = bar.start.astimezone(ZoneInfo(tz))
        return datetime.combine(local.date(), session_close, ZoneInfo(tz)).astimezone(UTC)
    return bar.start + timedelta(seconds=bar.seconds)
