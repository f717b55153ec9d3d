"""The buy-and-hold reference line of a backtest's chart.

Equal weight and the same cash as the strategy: each of the n symbols gets cash / n at
its first close (fractional units, no commission, no contract multiplier: a reference
for the price path, not a tradable alternative); before a symbol's first bar its share
stays cash. Values are taken on the run's clock, each symbol's close carried forward
over bars where only the other symbols traded.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from tradd.marketdata.bars import Bars


def buy_and_hold(
    bars: Sequence[Bars], clock: npt.NDArray[np.datetime64], cash: float
) -> npt.NDArray[np.float64]:
    share = cash / len(bars)
    total = np.zeros(len(clock))
    for symbol in bars:
        # index of the symbol's latest bar at or before each clock time (-1: none yet)
        at = np.searchsorted(symbol.time, clock, side="right") - 1
        closes = symbol.close[np.clip(at, 0, None)]
        units = share / symbol.close[0]
        total += np.where(at >= 0, units * closes, share)
    return total
