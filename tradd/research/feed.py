"""A Backtrader data feed over column arrays.

`PandasData` reads each bar through `DataFrame.iloc` (tens of microseconds a bar); this
feed reads plain Python lists. It also keeps Backtrader's per-bar "tick" attributes
(`tick_open` ... used by the broker to fill orders) with precomputed attribute names
instead of rebuilding them by string concatenation on every bar. The bars a strategy
sees, and every fill, are identical to `PandasData` over the same frame.
"""

from __future__ import annotations

from typing import Any

import backtrader as bt

from tradd.marketdata.bars import Bars

# Backtrader's OHLC line order; the first alias ("close") also gives `tick_last`.
_TICK_NAMES = (
    "tick_close",
    "tick_low",
    "tick_high",
    "tick_open",
    "tick_volume",
    "tick_openinterest",
)


def bt_datetimes(bars: Bars) -> list[float]:
    """Backtrader's float day numbers, computed by Backtrader's own `date2num` (bit-identical)."""
    stamps = bars.time.astype("datetime64[us]").astype(object)
    return [bt.date2num(stamp) for stamp in stamps]


class ArrayFeed(bt.feed.DataBase):  # type: ignore[misc]
    """Feed for a `Bars` object: `ArrayFeed(bars=..., name=symbol)`."""

    params = (("bars", None),)

    def start(self) -> None:
        super().start()
        bars: Bars = self.p.bars
        self._columns = (
            bt_datetimes(bars),
            bars.open.tolist(),
            bars.high.tolist(),
            bars.low.tolist(),
            bars.close.tolist(),
            bars.volume.tolist(),
        )
        self._index = 0
        self._count = len(bars)
        self._unbounded = False  # decided in home(), once the run's set-up is complete
        lines = self.lines
        self._line_buffers = tuple(lines[i] for i in range(lines.size()))
        self._targets = (
            lines.datetime,
            lines.open,
            lines.high,
            lines.low,
            lines.close,
            lines.volume,
        )
        self._tick_sources = (
            lines.close,
            lines.low,
            lines.high,
            lines.open,
            lines.volume,
            lines.openinterest,
        )

    def home(self) -> None:
        """Rewind; Backtrader calls this at the start of every run, after strategies are built.

        That is when buffer modes and line bindings are final, so the fast path is decided
        here once per run rather than on every bar.
        """
        super().home()
        buffers = getattr(self, "_line_buffers", ())
        # Plain arrays (no qbuffer, no bound lines): the fast path below is exact.
        self._unbounded = bool(buffers) and all(
            b.mode == b.UnBounded and not b.bindings for b in buffers
        )

    def _load(self) -> bool:
        i = self._index
        if i >= self._count:
            return False
        for target, column in zip(self._targets, self._columns, strict=True):
            target[0] = column[i]
        self.lines.openinterest[0] = 0.0
        self._index = i + 1
        return True

    def advance(self, size: int = 1, datamaster: Any = None, ticks: bool = True) -> None:
        """`DataBase.advance` for the preloaded, unbounded case, in one pass.

        Same effect as the original: every line's index moves by `size`; the tick values
        are cleared, then set to the bar when one is there. Anything else (a data master,
        bounded buffers) takes Backtrader's own path.
        """
        buffers = self._line_buffers
        if datamaster is not None or not self._unbounded:
            super().advance(size, datamaster, ticks)
            return
        for buffer in buffers:
            buffer._idx += size
            buffer.lencount += size
        if not ticks:
            return
        if self._has_bar():
            for name, line in zip(_TICK_NAMES, self._tick_sources, strict=True):
                setattr(self, name, line[0])
            self.tick_last = self.tick_close
        else:
            self._tick_nullify()

    def _has_bar(self) -> bool:
        """`len(self) < self.buflen()`, read straight from line 0 as Backtrader does."""
        first = self._line_buffers[0]
        return bool(first.lencount < len(first.array) - first.extension)

    def advance_peek(self) -> float:
        if self._unbounded and self._has_bar():
            clock = self._line_buffers[-1]  # datetime
            return clock.array[clock._idx + 1]  # type: ignore[no-any-return]
        return super().advance_peek()  # type: ignore[no-any-return]

    def _tick_fill(self, force: bool = False) -> None:
        # Same effect as DataBase._tick_fill: when nothing filled the tick values, the bar
        # is the tick.
        if force or getattr(self, "tick_close", None) is None:
            for name, line in zip(_TICK_NAMES, self._tick_sources, strict=True):
                setattr(self, name, line[0])
            self.tick_last = self.tick_close

    def _tick_nullify(self) -> None:
        for name in _TICK_NAMES:
            setattr(self, name, None)
        self.tick_last = None


_TIMEFRAMES = {"1d": bt.TimeFrame.Days, "1w": bt.TimeFrame.Weeks, "1mo": bt.TimeFrame.Months}


def make_feed(bars: Bars, **kwargs: Any) -> ArrayFeed:
    """The feed with Backtrader's time frame of the bar size (analyzers and resampling
    read it: a monthly feed is `TimeFrame.Months`, not days)."""
    timeframe = _TIMEFRAMES.get(bars.bar, bt.TimeFrame.Minutes)
    compression = 1 if not bars.intraday else _minutes(bars.bar)
    return ArrayFeed(
        bars=bars, name=bars.symbol, timeframe=timeframe, compression=compression, **kwargs
    )


def _minutes(bar: str) -> int:
    return int(bar[:-1]) * (60 if bar.endswith("h") else 1)
