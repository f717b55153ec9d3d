"""Backtrader's indicators, bit for bit, for kernels.

A kernel's signal is a comparison of indicator values; one unit in the last place of a
moving average flips a comparison that sits on the line (a flat stretch of prices makes
the fast and slow averages equal). So each function repeats Backtrader's arithmetic in
Backtrader's order (backtrader 1.9.78, `runonce` mode, which tradd's engine uses):

- `sma`: `Average.once`, `math.fsum(window) / period` (`exact_sum` is CPython's fsum).
- `rsi`: `RSI(safediv=True)`: up/down days, Wilder smoothing seeded with their average,
  `DivZeroByZero(up, down, inf, 1.0)`, `100 - 100 / (1 + rs)`.
- `highest_before` / `lowest_before`: `Highest(data(-1), period)` / `Lowest(...)`.

Values before an indicator's first one are NaN (every comparison with NaN is False).
"""

from __future__ import annotations

import numba
import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


@numba.njit(cache=True)  # type: ignore[untyped-decorator]
def _add(partials: FloatArray, count: int, x: float) -> tuple[FloatArray, int]:
    """Shewchuk's step: add `x` to the exact sum held as non-overlapping partials."""
    kept = 0
    for j in range(count):
        y = partials[j]
        if abs(x) < abs(y):
            x, y = y, x
        hi = x + y
        lo = y - (hi - x)
        if lo != 0.0:
            partials[kept] = lo
            kept += 1
        x = hi
    if x != 0.0:
        if kept == partials.shape[0]:
            partials = np.concatenate((partials, np.empty(64, dtype=np.float64)))
        partials[kept] = x
        kept += 1
    return partials, kept


@numba.njit(cache=True)  # type: ignore[untyped-decorator]
def exact_sum(values: FloatArray, first: int, stop: int) -> float:
    """`math.fsum(values[first:stop])`: Shewchuk's partials and CPython's final rounding."""
    partials = np.empty(64, dtype=np.float64)
    count = 0
    for k in range(first, stop):
        partials, count = _add(partials, count, values[k])
    return float(_round_partials(partials, count))


@numba.njit(cache=True)  # type: ignore[untyped-decorator]
def _round_partials(partials: FloatArray, count: int) -> float:
    """CPython's `math_fsum` tail: sum from the top, then fix half-even across partials."""
    if count == 0:
        return 0.0
    count -= 1
    hi = partials[count]
    lo = 0.0
    while count > 0:
        x = hi
        count -= 1
        y = partials[count]
        hi = x + y
        lo = y - (hi - x)
        if lo != 0.0:
            break
    if count > 0 and ((lo < 0.0 and partials[count - 1] < 0.0) or
                      (lo > 0.0 and partials[count - 1] > 0.0)):  # fmt: skip
        y = lo * 2.0
        x = hi + y
        if y == x - hi:
            hi = x
    return float(hi)


@numba.njit(cache=True)  # type: ignore[untyped-decorator]
def sma(values: FloatArray, period: int) -> FloatArray:
    """Backtrader's SMA: the first value on bar `period - 1`.

    The window's exact sum slides: each bar adds its value and the value leaving the
    window is added negated, both exactly (the partials hold the exact sum of the
    window), and the correctly rounded sum is what `math.fsum(window)` returns."""
    out = np.full(values.shape[0], np.nan)
    partials = np.empty(64, dtype=np.float64)
    count = 0
    for i in range(values.shape[0]):
        partials, count = _add(partials, count, values[i])
        if i >= period:
            partials, count = _add(partials, count, -values[i - period])
        if i >= period - 1:
            out[i] = _round_partials(partials, count) / period
    return out


@numba.njit(cache=True)  # type: ignore[untyped-decorator]
def rsi(close: FloatArray, period: int) -> FloatArray:
    """Backtrader's `RSI(period, safediv=True)`: the first value on bar `period`."""
    n = close.shape[0]
    up = np.zeros(n)
    down = np.zeros(n)
    for i in range(1, n):
        up[i] = max(close[i] - close[i - 1], 0.0)
        down[i] = max(close[i - 1] - close[i], 0.0)
    out = np.full(n, np.nan)
    if n <= period:
        return out
    alpha = 1.0 / period
    alpha1 = 1.0 - alpha
    ma_up = exact_sum(up, 1, period + 1) / period
    ma_down = exact_sum(down, 1, period + 1) / period
    out[period] = _rsi_value(ma_up, ma_down)
    for i in range(period + 1, n):
        ma_up = ma_up * alpha1 + up[i] * alpha
        ma_down = ma_down * alpha1 + down[i] * alpha
        out[i] = _rsi_value(ma_up, ma_down)
    return out


@numba.njit(cache=True)  # type: ignore[untyped-decorator]
def _rsi_value(ma_up: float, ma_down: float) -> float:
    if ma_down != 0.0:
        return float(100.0 - 100.0 / (1.0 + ma_up / ma_down))
    rs = 1.0 if ma_up == 0.0 else np.inf
    return float(100.0 - 100.0 / (1.0 + rs))


@numba.njit(cache=True)  # type: ignore[untyped-decorator]
def highest_before(values: FloatArray, period: int) -> FloatArray:
    """Backtrader's `Highest(data(-1), period)`: the highest of the `period` bars before
    each bar, the first value on bar `period`."""
    out = np.full(values.shape[0], np.nan)
    for i in range(period, values.shape[0]):
        best = values[i - period]
        for k in range(i - period + 1, i):
            best = max(best, values[k])
        out[i] = best
    return out


def lowest_before(values: FloatArray, period: int) -> FloatArray:
    """Backtrader's `Lowest(data(-1), period)`: the highest of the negated values, negated
    (negation is exact, so the minimum is the same float)."""
    lowest: FloatArray = -highest_before(-values, period)
    return lowest
