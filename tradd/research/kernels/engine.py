"""A strategy's kernel run like `BacktestEngine.run`: the same `RunResult`, at array speed.

`KernelEngine.for_engine` says why a kernel cannot stand in for Backtrader on a run
(no kernel, symbols on different clocks, a custom broker); the screen then runs
Backtrader. Its numbers are checked against Backtrader's on every confirmed combination
(`tradd.research.kernels.parity`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from tradd.research.costs import CostScheme
from tradd.research.engine import BacktestEngine, ClosedTrade, NotEnoughBars, RunResult, describe
from tradd.research.kernels.codes import KIND_OF_VALUE, KIND_PER_UNIT, FloatArray
from tradd.research.warmup import measured_from
from tradd.strategy import Kernel, Prices


def cost_row(scheme: CostScheme) -> list[float]:
    """A `CostScheme` as `simulate.commission` reads it."""
    kind = KIND_PER_UNIT if scheme.kind in ("stock", "futures") else KIND_OF_VALUE
    return [
        kind,
        scheme.multiplier,
        scheme.rate,
        scheme.minimum,
        math.nan if scheme.max_pct is None else scheme.max_pct,
        math.nan if scheme.min_cap_pct is None else scheme.min_cap_pct,
        1.0 if scheme.minimum_in_base else 0.0,
    ]


def kernel_of(strategy: type[Any]) -> Kernel | None:
    method = getattr(strategy, "kernel", None)
    return method() if callable(method) else None


BEHAVIOUR = ("__init__", "next", "prenext", "nextstart", "notify_order", "notify_trade", "start")
"""A subclass overriding one of these without its own `kernel()` changes what the
inherited kernel describes."""


def _owner(strategy: type[Any], name: str) -> type[Any] | None:
    return next((cls for cls in strategy.__mro__ if name in vars(cls)), None)


def unfit_reason(engine: BacktestEngine) -> str | None:
    """Why the strategy's kernel cannot stand in for Backtrader on this engine's run."""
    strategy = engine.strategy
    name = strategy.__name__
    if kernel_of(strategy) is None:
        return f"{name} has no kernel"
    kernel_owner = _owner(strategy, "kernel")
    for method in BEHAVIOUR:
        owner = _owner(strategy, method)
        if owner is not None and kernel_owner is not None and owner is not kernel_owner \
                and issubclass(owner, kernel_owner):  # fmt: skip
            return f"{owner.__name__} overrides {method}() but inherits its kernel"
    if engine.custom_broker:
        return "the run uses a custom Backtrader broker"
    for bars in engine.bars:
        if len(bars.time) != len(engine.clock) or not np.array_equal(bars.time, engine.clock):
            return f"{bars.symbol}'s bars are not on the run's common clock"
    return None


@dataclass
class KernelEngine:
    """One run's inputs for the kernel (from a prepared `BacktestEngine`)."""

    engine: BacktestEngine
    kernel: Kernel
    prices: Prices
    costs: FloatArray
    first: int

    @classmethod
    def for_engine(cls, engine: BacktestEngine) -> KernelEngine | None:
        """None when `unfit_reason(engine)` says the kernel cannot be used."""
        kernel = kernel_of(engine.strategy)
        if kernel is None or unfit_reason(engine) is not None:
            return None
        ohlc = np.stack([np.stack([b.open, b.high, b.low, b.close]) for b in engine.bars])
        costs = np.array([cost_row(engine.costs[b.symbol]) for b in engine.bars])
        first = measured_from(engine.clock, engine.trade_from)
        return cls(
            engine, kernel, Prices(np.ascontiguousarray(ohlc, dtype=np.float64)), costs, first
        )

    def run(self, params: Mapping[str, Any]) -> RunResult:
        """What `BacktestEngine.run(params)` returns (without full trade records)."""
        equity, table = self.simulate(params)
        trades, in_market = self._trades(table, len(equity))
        return RunResult(dict(params), float(equity[-1]), equity, trades, in_market)

    def simulate(self, params: Mapping[str, Any]) -> tuple[FloatArray, FloatArray]:
        """(equity after every bar, the trades as rows of `simulate.TRADE_COLUMNS`)."""
        minperiod = self.kernel.minperiod(params)
        bars = self.prices.ohlc.shape[2]
        if bars < minperiod:
            first = self.engine.bars[0]
            raise NotEnoughBars(
                f"{describe(self.engine.strategy, params)} needs at least {minperiod} bars "
                f"(its longest indicator warm-up); {first.symbol} has {len(first)} between "
                f"{first.first:%Y-%m-%d} and {first.last:%Y-%m-%d}"
            )
        from tradd.research.kernels.simulate import simulate  # numba: only when used

        enter, exit_ = self.kernel.signals(self.prices, params)
        broker = self.engine.broker
        equity, table, count = simulate(
            self.prices.ohlc, enter, exit_, self.costs, minperiod - 1, self.first,
            float(broker.cash), float(broker.position_pct), broker.slippage_pct / 100.0,
        )  # fmt: skip
        return equity, table[:count]

    def _trades(self, table: FloatArray, bars: int) -> tuple[list[ClosedTrade], int]:
        names = [b.symbol for b in self.engine.bars]
        closed, in_market = [], 0
        for row in table:
            entry, exit_ = int(row[1]), int(row[2])
            if exit_ < 0:
                in_market += bars - entry - 1
                continue
            closed.append(
                ClosedTrade(names[int(row[0])], float(row[6]), float(row[7]), exit_ - entry)
            )
            in_market += exit_ - entry
        return closed, in_market
