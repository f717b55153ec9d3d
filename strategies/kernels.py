"""Vectorized kernels of the sample strategies (docs/kernels.md).

Each computes, from Backtrader-exact indicators (`tradd.research.kernels.indicators`),
the decisions its strategy's `next()` takes; the optimizer replays them through
Backtrader's broker semantics and confirms the best combinations in Backtrader itself.
Loaded only by research (`Strategy.kernel()` imports this module lazily).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

import numpy as np

from tradd.research.kernels.indicators import highest_before, lowest_before, rsi, sma
from tradd.strategy import CLOSE, HIGH, LOW, BoolArray, FloatArray, Prices


def _stacked(rows: list[tuple[BoolArray, BoolArray]]) -> tuple[BoolArray, BoolArray]:
    return np.stack([r[0] for r in rows]), np.stack([r[1] for r in rows])


def _cached_sma(prices: Prices, symbol: int, period: int) -> FloatArray:
    close = prices.series(symbol, CLOSE)
    return prices.cached(("sma", symbol, period), partial(sma, close, period))


class SmaCrossKernel:
    """`SmaCross.next()`: enter when fast > slow x (1 + threshold), exit when
    fast < slow x (1 - threshold)."""

    def minperiod(self, params: Mapping[str, Any]) -> int:
        return max(int(params["fast"]), int(params["slow"]))

    def signals(self, prices: Prices, params: Mapping[str, Any]) -> tuple[BoolArray, BoolArray]:
        band = params["threshold"]
        rows = []
        for s in range(prices.symbols):
            fast = _cached_sma(prices, s, int(params["fast"]))
            slow = _cached_sma(prices, s, int(params["slow"]))
            rows.append((fast > slow * (1.0 + band), fast < slow * (1.0 - band)))
        return _stacked(rows)


class RsiReversionKernel:
    """`RsiReversion.next()`: enter when RSI < oversold, exit when RSI > overbought."""

    def minperiod(self, params: Mapping[str, Any]) -> int:
        return int(params["period"]) + 1

    def signals(self, prices: Prices, params: Mapping[str, Any]) -> tuple[BoolArray, BoolArray]:
        period = int(params["period"])
        rows = []
        for s in range(prices.symbols):
            close = prices.series(s, CLOSE)
            value = prices.cached(("rsi", s, period), partial(rsi, close, period))
            rows.append((value < params["oversold"], value > params["overbought"]))
        return _stacked(rows)


class DonchianBreakoutKernel:
    """`DonchianBreakout.next()`: enter when the close breaks above the highest high of
    the `entry` bars before, exit when it breaks below the lowest low of the `exit` bars
    before."""

    def minperiod(self, params: Mapping[str, Any]) -> int:
        return max(int(params["entry"]), int(params["exit"])) + 1

    def signals(self, prices: Prices, params: Mapping[str, Any]) -> tuple[BoolArray, BoolArray]:
        entry, exit_ = int(params["entry"]), int(params["exit"])
        rows = []
        for s in range(prices.symbols):
            high, low = prices.series(s, HIGH), prices.series(s, LOW)
            close = prices.series(s, CLOSE)
            upper = prices.cached(("highest", s, entry), partial(highest_before, high, entry))
            lower = prices.cached(("lowest", s, exit_), partial(lowest_before, low, exit_))
            rows.append((close > upper, close < lower))
        return _stacked(rows)
