"""OHLCV bars as column arrays: cheap to slice, share between processes and feed to Backtrader."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import numpy.typing as npt

from tradd.errors import UsageError

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


def infer_bar(time: TimeArray) -> str:
    """The bar size whose spacing matches the most common gap between timestamps."""
    if len(time) < 2:
        return "1d"
    gaps = np.diff(time).astype("timedelta64[s]").astype(np.int64)
    positive = gaps[gaps > 0]
    if len(positive) == 0:
        return "1d"
    values, counts = np.unique(positive, return_counts=True)
    spacing = int(values[np.argmax(counts)])
    if spacing >= 20 * 3600:
        return "1d"
    return min(BAR_SECONDS, key=lambda name: abs(BAR_SECONDS[name] - spacing))
