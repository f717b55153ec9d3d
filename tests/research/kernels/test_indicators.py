"""The kernels' indicators against what Backtrader computes with: `math.fsum` for the
SMA's window (including the sliding exact sum), and Backtrader's own indicators on the
shipped data, bit for bit."""

from __future__ import annotations

import math
import random

import backtrader as bt
import numpy as np
import pandas as pd
import pytest

from tradd.research.kernels.indicators import (
    exact_sum,
    highest_before,
    lowest_before,
    rsi,
    sma,
)

from ...conftest import SAMPLE_DATA


def series(rng: random.Random, kind: int, n: int) -> list[float]:
    if kind == 0:  # wild magnitudes: cancellation everywhere
        return [rng.uniform(-1e6, 1e6) * rng.choice([1, 1e-12, 1e12]) for _ in range(n)]
    if kind == 1:  # prices in cents
        return [round(rng.uniform(1, 500), 2) for _ in range(n)]
    if kind == 2:  # flat stretches: averages land exactly on each other
        return [rng.choice([10.0, 10.01, 9.99, 0.1, 0.2, 0.3]) for _ in range(n)]
    return [rng.uniform(0, 1) for _ in range(n)]


def test_exact_sum_and_sliding_sma_equal_fsum() -> None:
    rng = random.Random(3)
    for trial in range(200):
        values = series(rng, trial % 4, rng.randint(5, 300))
        array = np.array(values)
        first = rng.randrange(len(values))
        stop = rng.randrange(first, len(values) + 1)
        assert exact_sum(array, first, stop) == math.fsum(values[first:stop])
        period = rng.randint(1, len(values))
        out = sma(array, period)
        assert np.isnan(out[: period - 1]).all()
        for i in range(period - 1, len(values)):
            assert out[i] == math.fsum(values[i - period + 1 : i + 1]) / period, (trial, i)


class Indicators(bt.Strategy):  # type: ignore[misc]
    def __init__(self) -> None:
        self.lines_of = [bt.ind.SMA(self.data, period=p) for p in (5, 30, 200)] + [
            bt.ind.RSI(self.data, period=p, safediv=True) for p in (2, 14)
        ] + [bt.ind.Highest(self.data.high(-1), period=20),
             bt.ind.Lowest(self.data.low(-1), period=10)]  # fmt: skip


@pytest.mark.parametrize("name", ["GOOG.1d.csv", "IDXFUT.5m.csv"])
def test_backtrader_indicators_bit_for_bit(name: str) -> None:
    frame = pd.read_csv(SAMPLE_DATA / name, index_col=0, parse_dates=True)
    cerebro = bt.Cerebro(stdstats=False)
    cerebro.adddata(bt.feeds.PandasData(dataname=frame))
    cerebro.addstrategy(Indicators)
    (strategy,) = cerebro.run()
    close, high, low = (frame[c].to_numpy(float) for c in ("close", "high", "low"))
    mine = [sma(close, 5), sma(close, 30), sma(close, 200), rsi(close, 2), rsi(close, 14),
            highest_before(high, 20), lowest_before(low, 10)]  # fmt: skip
    for line, ours in zip(strategy.lines_of, mine, strict=True):
        theirs = np.array(line.array[: len(close)])
        assert np.array_equal(theirs, ours, equal_nan=True), type(line).__name__
