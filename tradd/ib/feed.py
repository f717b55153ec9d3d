"""The live data feed Backtrader reads: history first, then bars built from IB's 5-s bars.

The feed never talks to IB and never waits. `IBStore` fills it on Backtrader's own
thread: history at start (so indicators are warm when live bars begin), then each bar
the moment its period completes. `_load` only pops what is ready, returning None ("live,
nothing yet") when the queue is empty, so Cerebro's loop goes back to the store, which
is where the one blocking wait is.

Timestamps follow the research feeds, so a strategy sees the same clock live as in its
backtest: intraday bars are stamped with their start, daily bars with the session's date
(midnight, exchange time). The exchange's zone is the feed's `tz`, so
`data.datetime.datetime()` is exchange-local.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import backtrader as bt

from tradd.ib.bars import DAY, BarAggregator
from tradd.ib.types import Bar, Quote

TIMEFRAMES: dict[int, tuple[int, int]] = {
    5: (bt.TimeFrame.Seconds, 5),
    60: (bt.TimeFrame.Minutes, 1),
    300: (bt.TimeFrame.Minutes, 5),
    900: (bt.TimeFrame.Minutes, 15),
    1800: (bt.TimeFrame.Minutes, 30),
    3600: (bt.TimeFrame.Minutes, 60),
    DAY: (bt.TimeFrame.Days, 1),
}


class ExchangeZone(tzinfo):
    """A ZoneInfo in the shape Backtrader wants for a feed's `tz` (pytz's `localize`)."""

    def __init__(self, key: str) -> None:
        self.key = key
        self._zone = ZoneInfo(key)

    def utcoffset(self, when: datetime | None) -> timedelta | None:
        return self._zone.utcoffset(when)

    def dst(self, when: datetime | None) -> timedelta | None:
        return self._zone.dst(when)

    def tzname(self, when: datetime | None) -> str | None:
        return self._zone.tzname(when)

    def fromutc(self, when: datetime) -> datetime:
        local = self._zone.fromutc(when.replace(tzinfo=self._zone))
        return local.replace(tzinfo=self)

    def localize(self, when: datetime | date) -> datetime:
        if not isinstance(when, datetime):  # Backtrader passes an order's `valid` date too
            when = datetime.combine(when, time())
        return when.replace(tzinfo=self)


class QueuedFeed(bt.feed.DataBase):  # type: ignore[misc]
    """What the live feeds share: Backtrader reads only what the store queued, never waits."""

    params: Any = (("symbol", ""), ("exchange_tz", "US/Eastern"))

    def __init__(self, **params: Any) -> None:
        """Backtrader's metaclass consumes `params` (symbol, exchange_tz, name, ...)."""
        self.p.tz = ExchangeZone(self.p.exchange_tz)  # what data.datetime.datetime() shows
        super().__init__()
        self.symbol: str = self.p.symbol
        self.zone = ZoneInfo(self.p.exchange_tz)
        self._ready: deque[Any] = deque()
        self._ended = False
        self.in_history = False
        """The item just delivered is history (warm-up): the strategy must not trade on it."""

    def islive(self) -> bool:
        return True

    def haslivedata(self) -> bool:
        return bool(self._ready)

    def stop(self) -> None:
        self._ended = True

    @property
    def pending(self) -> int:
        return len(self._ready)

    def set_exchange(self, time_zone: str) -> None:
        """The contract's zone, once IB has told it (before the first bar)."""
        self.zone = ZoneInfo(time_zone)
        self.p.tz = self._tz = ExchangeZone(time_zone)
        lines: Any = self.lines
        lines.datetime._settz(self._tz)

    def _load(self) -> bool | None:
        if not self._ready:
            return False if self._ended else None
        self._deliver(self._ready.popleft())
        return True

    def _deliver(self, item: Any) -> None:
        raise NotImplementedError


class LiveFeed(QueuedFeed):
    """One symbol at the strategy's bar size: history first, then live bars."""

    params: Any = (("bar_seconds", 60),)

    def __init__(self, **params: Any) -> None:
        super().__init__()
        self.bar_seconds: int = self.p.bar_seconds
        self._timeframe, self._compression = TIMEFRAMES[self.bar_seconds]
        self.aggregator = BarAggregator(self.symbol, self.bar_seconds, self.p.exchange_tz)
        self.in_history = True
        self.last_bar: Bar | None = None
        """The newest bar Backtrader has read."""
        self.last_queued: Bar | None = None
        """The newest bar queued for Backtrader (read or not)."""
        self.on_read: Callable[[Bar, bool], None] | None = None
        """Told of every bar as Backtrader reads it, and whether it is history (the
        worker's bar log for `tradd drift`); must not block."""

    def start(self) -> None:
        super().start()
        self.put_notification(self.DELAYED)

    def _deliver(self, item: tuple[Bar, bool]) -> None:
        bar, historical = item
        if self.in_history and not historical:
            self.put_notification(self.LIVE)
        self.in_history = historical
        self.last_bar = bar
        lines: Any = self.lines
        lines.datetime[0] = bt.date2num(_stamp(bar, self.zone))
        lines.open[0], lines.high[0], lines.low[0] = bar.open, bar.high, bar.low
        lines.close[0], lines.volume[0], lines.openinterest[0] = bar.close, bar.volume, 0.0
        if self.on_read is not None:
            self.on_read(bar, historical)

    # -- what the store calls ---------------------------------------------------------------
    def set_exchange(self, time_zone: str) -> None:
        if time_zone != self.zone.key:
            super().set_exchange(time_zone)
            self.reset_aggregator()

    def reset_aggregator(self) -> None:
        """Forget the bar in progress (its history replaces it after an outage)."""
        self.aggregator = BarAggregator(self.symbol, self.bar_seconds, self.zone.key)

    def add_history(self, bars: list[Bar], now: datetime) -> None:
        """Queue warm-up bars; a last bar still in progress seeds the aggregator instead."""
        for bar in bars:
            if self.aggregator.period_end(bar.start) > now:
                self.aggregator.seed(bar, covered_until=now)
            else:
                self._queue(bar, historical=True)

    def add_live(self, bar: Bar) -> None:
        self._queue(bar, historical=False)

    def _queue(self, bar: Bar, *, historical: bool) -> None:
        self._ready.append((bar, historical))
        if self.last_queued is None or bar.start > self.last_queued.start:
            self.last_queued = bar

    def end_history(self) -> None:
        """No more history: if none was queued, the first live bar starts LIVE status."""
        if not self._ready:
            self.in_history = False
            self.put_notification(self.LIVE)


def _stamp(bar: Bar, zone: ZoneInfo) -> datetime:
    """Naive UTC for Backtrader: the bar start, or local midnight of a daily bar's session."""
    if bar.seconds >= DAY:
        local = bar.start.astimezone(zone)
        midnight = datetime(local.year, local.month, local.day, tzinfo=zone)
        return midnight.astimezone(UTC).replace(tzinfo=None)
    return bar.start.astimezone(UTC).replace(tzinfo=None)


class TickFeed(QueuedFeed):
    """Quotes of one symbol as Backtrader ticks, for strategies that ask (`ticks = true`).

    Each quote is one line: `close` (and open/high/low) is the last trade, `volume` its
    size, and the extra lines `bid` and `ask` the quote. It is named `<SYMBOL>:ticks`
    and stamped with market time on arrival, so Cerebro orders it among the bars.
    """

    lines = ("bid", "ask")

    def __init__(self, **params: Any) -> None:
        super().__init__()
        self._timeframe, self._compression = bt.TimeFrame.Ticks, 1

    def start(self) -> None:
        super().start()
        self.put_notification(self.LIVE)

    def add(self, quote: Quote) -> None:
        self._ready.append(quote)

    def _deliver(self, q: Quote) -> None:
        lines: Any = self.lines
        price = q.last or (q.bid + q.ask) / 2
        lines.datetime[0] = bt.date2num(q.time.astimezone(UTC).replace(tzinfo=None))
        lines.open[0] = lines.high[0] = lines.low[0] = lines.close[0] = price
        lines.volume[0], lines.openinterest[0] = q.last_size, 0.0
        lines.bid[0], lines.ask[0] = q.bid, q.ask
