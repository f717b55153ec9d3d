"""OHLCV bars as column arrays: cheap to slice, share between processes and feed to Backtrader."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import numpy.typing as npt

from tradd.errors import DataError, UsageError

FloatArray = npt.NDArray[np.float64]
TimeArray = npt.NDArray[np.datetime64]

BAR_SECONDS = {
    "1mo": 2_629_746,  # an average month (365.2425 / 12 days): the spacing is not fixed
    "1w": 604_800,
    "1d": 86_400,
    "1h": 3_600,
    "30m": 1_800,
    "15m": 900,
    "5m": 300,
    "1m": 60,
}
SESSION_OR_LONGER = frozenset({"1d", "1w", "1mo"})
PERIODS_PER_YEAR_OF_BAR = {"1w": 52, "1mo": 12}
"""Bars that are one period each whatever the market's calendar."""
_SYMBOL = re.compile(r"^[A-Z0-9][A-Z0-9.\-]{0,19}$")


def normalize_symbol(symbol: str) -> str:
    """Upper-case a symbol and check it can safely name a file."""
    cleaned = symbol.strip().upper()
    if not _SYMBOL.match(cleaned):
        raise UsageError(f"invalid symbol {symbol!r}: use letters, digits, '.' or '-'")
    return cleaned


@dataclass(frozen=True, eq=False)
class Bars:
    """One symbol's bars in time order. Timestamps are naive exchange-local datetimes."""

    symbol: str
    bar: str
    time: TimeArray
    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray

    def __len__(self) -> int:
        return len(self.time)

    @property
    def intraday(self) -> bool:
        return self.bar not in SESSION_OR_LONGER

    @property
    def first(self) -> datetime:
        return _to_datetime(self.time[0])

    @property
    def last(self) -> datetime:
        return _to_datetime(self.time[-1])

    def between(self, start: date | None, end: date | None) -> Bars:
        """Bars with start <= day <= end (whole days, inclusive)."""
        lo = 0 if start is None else int(np.searchsorted(self.time, np.datetime64(start, "s")))
        hi = len(self)
        if end is not None:
            after_end = np.datetime64(end, "D") + np.timedelta64(1, "D")
            hi = int(np.searchsorted(self.time, after_end.astype("datetime64[s]")))
        return self.take(slice(lo, hi))

    def take(self, index: slice | npt.NDArray[np.bool_] | npt.NDArray[np.intp]) -> Bars:
        return Bars(
            self.symbol,
            self.bar,
            self.time[index],
            self.open[index],
            self.high[index],
            self.low[index],
            self.close[index],
            self.volume[index],
        )


def _to_datetime(value: np.datetime64) -> datetime:
    result = value.astype("datetime64[us]").astype(datetime)
    assert isinstance(result, datetime)
    return result


INTRADAY_SECONDS = {name: s for name, s in BAR_SECONDS.items() if name not in SESSION_OR_LONGER}


def infer_bar(time: TimeArray, source: str = "the file") -> str:
    """The bar size the spacing of sorted timestamps shows; DataError if it fits none.

    Intraday: the most common gap is exactly a bar size. Daily: most gaps lead to the next
    weekday, or skip at most one (a holiday); weekends do not count. Weekly: most gaps are 7 days (a
    holiday moves a bar a day or so). Monthly: most gaps are 28-31 days, allowing the
    same shift (last or first trading day of the month: 25-35 days).
    """
    if len(time) < 2:
        return "1d"
    gaps = np.diff(time).astype("timedelta64[s]").astype(np.int64)
    positive = gaps[gaps > 0]
    if len(positive) == 0:
        return "1d"
    values, counts = np.unique(positive, return_counts=True)
    spacing, seen = int(values[np.argmax(counts)]), int(counts.max())
    if spacing < 20 * 3600:
        for name, seconds in INTRADAY_SECONDS.items():
            if spacing == seconds:
                return name
    else:
        days = np.rint(positive / 86_400).astype(np.int64)
        if _mostly_daily(time[1:][gaps > 0], days):
            return "1d"
        for name, (lo, hi) in (("1w", (6, 8)), ("1mo", (25, 35))):
            if np.count_nonzero((days >= lo) & (days <= hi)) * 2 > len(days):
                return name
    raise DataError(
        f"{source}: the spacing of the bars fits no bar size: the most common gap is "
        f"{_duration(spacing)} ({seen} of {len(positive)} gaps); expected {_EXPECTED}; "
        "give the size with --bar if the file is right"
    )


def _mostly_daily(ends: TimeArray, days: npt.NDArray[np.int64]) -> bool:
    """Most gaps skip at most one weekday: the next session, over a weekend and perhaps a
    holiday (every third day skips two weekdays most of the time)."""
    last = ends.astype("datetime64[D]")
    after_previous = last - days.astype("timedelta64[D]") + np.timedelta64(1, "D")
    skipped = np.busday_count(after_previous, last)
    return bool(np.count_nonzero((days >= 1) & (skipped <= 1)) * 2 > len(days))


_EXPECTED = (
    "1m, 5m, 15m, 30m or 1h apart, daily (mostly the next weekday), weekly (mostly 7 days) or "
    "monthly (mostly 28-31 days)"
)


def _duration(seconds: int) -> str:
    if seconds % 86_400 == 0:
        return f"{seconds // 86_400} day(s)"
    if seconds % 3600 == 0:
        return f"{seconds // 3600} hour(s)"
    if seconds % 60 == 0:
        return f"{seconds // 60} minute(s)"
    return f"{seconds} second(s)"
