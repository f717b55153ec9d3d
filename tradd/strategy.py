"""What a tradd strategy is: a Backtrader Strategy that can declare invalid parameter sets,
and may bring a vectorized kernel for the optimizer's screen.

Strategies stay plain Backtrader (they run unchanged in `cerebro.optstrategy`); the
additions are `invalid_params`, which lets research skip combinations such as fast >=
slow without running them, and `kernel`, which lets research screen thousands of
combinations at array speed before confirming the best in Backtrader (docs/kernels.md).
Entries use `self.buy()` with no size: tradd's sizer decides.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import backtrader as bt
import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

OPEN, HIGH, LOW, CLOSE = range(4)


@dataclass(frozen=True)
class Prices:
    """A run's bars on one clock, for a kernel: `ohlc[symbol, field, bar]`.

    `cached` keeps an indicator computed for one combination for every later one in the
    same process (the slow SMA of period 30 is the same in every combination using it)."""

    ohlc: FloatArray
    memo: dict[tuple[Any, ...], FloatArray] = field(default_factory=dict, compare=False)

    @property
    def symbols(self) -> int:
        return int(self.ohlc.shape[0])

    def series(self, symbol: int, column: int) -> FloatArray:
        series: FloatArray = self.ohlc[symbol, column]
        return series

    def cached(self, key: tuple[Any, ...], compute: Callable[[], FloatArray]) -> FloatArray:
        found = self.memo.get(key)
        if found is None:
            found = self.memo[key] = compute()
        return found


class Kernel(Protocol):
    """A strategy's `next()` as arrays, for strategies of the form "per symbol: when flat
    and `enter`, buy (the sizer sizes it); when long and `exit`, close".

    `signals(prices, params)` -> (enter, exit), booleans shaped [symbol, bar]: what
    `next()` would decide on each bar from the indicators, given it is flat (enter) or
    long (exit). `minperiod(params)`: Backtrader's `_minperiod` for these parameters (the
    first `next()` runs on bar `minperiod - 1`). The optimizer replays the signals
    through Backtrader's broker semantics (`tradd.research.kernels.simulate`) and checks
    every confirmed combination against Backtrader itself."""

    def minperiod(self, params: Mapping[str, Any]) -> int: ...

    def signals(self, prices: Prices, params: Mapping[str, Any]) -> tuple[BoolArray, BoolArray]: ...


class Strategy(bt.Strategy):  # type: ignore[misc]
    """Base class. Subclasses call `super().__init__()` first in their `__init__`."""

    @classmethod
    def invalid_params(cls, params: Mapping[str, Any]) -> str | None:
        """Why this combination makes no sense, or None when it is fine."""
        return None

    @classmethod
    def kernel(cls) -> Kernel | None:
        """The strategy's vectorized kernel, or None (research then runs Backtrader only).

        Import the kernel inside this method: live workers never call it, so they never
        load the kernel's libraries."""
        return None

    def __init__(self) -> None:
        reason = type(self).invalid_params(dict(self.p._getkwargs()))
        if reason:
            # Backtrader's own way to drop a combination from optstrategy.
            raise bt.errors.StrategySkipError(reason)
