"""Each shipped kernel against Backtrader itself: random parameter sets on every shipped
data file, daily and intraday, must give the same trades and final value, bit for bit
(the search's own check allows 1e-6 relative; these kernels need none of it)."""

from __future__ import annotations

import random
from datetime import date
from typing import Any

import pytest

from strategies.kernels import SmaCrossKernel
from strategies.sma_cross import SmaCross
from tradd.marketdata.store import DataStore
from tradd.research.broker import BrokerConfig
from tradd.research.engine import BacktestEngine
from tradd.research.kernels.engine import KernelEngine, unfit_reason
from tradd.research.kernels.parity import mismatch
from tradd.research.setup import ResearchInputs, load_inputs
from tradd.strategy import Kernel

from ...conftest import SAMPLE_DATA

SMA = "strategies.sma_cross.SmaCross"
RSI = "strategies.rsi.RsiReversion"
DONCHIAN = "strategies.breakout.DonchianBreakout"


def random_params(strategy: str, rng: random.Random) -> dict[str, Any]:
    if strategy == SMA:
        fast = rng.randint(2, 40)
        return {"fast": fast, "slow": rng.randint(fast + 1, 120),
                "threshold": rng.choice([0.0, 0.0, 0.0005, 0.001])}  # fmt: skip
    if strategy == RSI:
        return {"period": rng.randint(2, 16), "oversold": rng.uniform(25, 45),
                "overbought": rng.uniform(55, 75)}  # fmt: skip
    entry = rng.randint(3, 60)
    return {"entry": entry, "exit": rng.randint(1, entry - 1)}


def engines(
    strategy: str,
    symbols: tuple[str, ...],
    bar: str,
    broker: BrokerConfig,
    start: date | None = None,
    end: date | None = None,
) -> tuple[BacktestEngine, KernelEngine]:
    inputs = ResearchInputs(strategy, symbols, start, end, bar, broker)
    loaded = load_inputs(inputs, DataStore(SAMPLE_DATA))
    engine = BacktestEngine(loaded.strategy, loaded.bars, broker, costs=loaded.costs)
    kernel = KernelEngine.for_engine(engine)
    assert kernel is not None, unfit_reason(engine)
    return engine, kernel


def assert_same(engine: BacktestEngine, kernel: KernelEngine, params: dict[str, Any]) -> None:
    backtrader, vectorized = engine.run(params), kernel.run(params)
    assert mismatch(backtrader, vectorized) is None, (params, mismatch(backtrader, vectorized))
    # Bit for bit: every bar's value, every trade.
    assert backtrader.final_value == vectorized.final_value, params
    assert list(backtrader.equity) == list(vectorized.equity), params
    assert sorted(backtrader.trades, key=repr) == sorted(vectorized.trades, key=repr), params
    assert backtrader.trades, f"{params}: no trade, nothing compared"


DATA = [("GOOG", "1d"), ("NVDA", "1d"), ("ORCL", "1d"), ("YHOO", "1d"), ("IDXFUT", "5m")]


@pytest.mark.parametrize("strategy", [SMA, RSI, DONCHIAN])
@pytest.mark.parametrize(("symbol", "bar"), DATA)
def test_kernel_matches_backtrader_on_every_shipped_file(
    strategy: str, symbol: str, bar: str
) -> None:
    engine, kernel = engines(strategy, (symbol,), bar, BrokerConfig())
    rng = random.Random(f"{strategy}{symbol}")
    for _ in range(2):
        assert_same(engine, kernel, random_params(strategy, rng))


def test_one_minute_futures_bars() -> None:
    """30,000 intraday bars of a future: multiplier 10, per-contract commission."""
    engine, kernel = engines(SMA, ("IDXFUT",), "1m", BrokerConfig())
    assert_same(engine, kernel, {"fast": 10, "slow": 30, "threshold": 0.0})


@pytest.mark.parametrize("strategy", [SMA, RSI, DONCHIAN])
def test_several_symbols_slippage_and_margin(strategy: str) -> None:
    """Three symbols sharing the cash, slipped fills, and 100% sizing, where a gap up
    leaves a buy short of cash (Backtrader cancels it: Margin) and orders queue on cash."""
    broker = BrokerConfig(slippage_pct=0.3, position_pct=100.0)
    engine, kernel = engines(strategy, ("GOOG", "ORCL", "NVDA"), "1d", broker,
                             date(2005, 1, 1), date(2012, 12, 31))  # fmt: skip
    rng = random.Random(strategy)
    for _ in range(2):
        assert_same(engine, kernel, random_params(strategy, rng))


def test_warm_up_bars_refuse_orders() -> None:
    """With `trade_from`, orders decided on warm-up bars are refused in both."""
    inputs = ResearchInputs(SMA, ("GOOG",), None, None, "1d", BrokerConfig())
    loaded = load_inputs(inputs, DataStore(SAMPLE_DATA))
    from datetime import datetime

    engine = BacktestEngine(loaded.strategy, loaded.bars, BrokerConfig(), costs=loaded.costs,
                            trade_from=datetime(2007, 6, 1))  # fmt: skip
    kernel = KernelEngine.for_engine(engine)
    assert kernel is not None and kernel.first > 0
    assert_same(engine, kernel, {"fast": 5, "slow": 20, "threshold": 0.0})


def test_symbols_on_different_clocks_use_backtrader() -> None:
    inputs = ResearchInputs(SMA, ("GOOG", "ORCL"), None, None, "1d", BrokerConfig())
    loaded = load_inputs(inputs, DataStore(SAMPLE_DATA))
    engine = BacktestEngine(loaded.strategy, loaded.bars, BrokerConfig(), costs=loaded.costs)
    assert KernelEngine.for_engine(engine) is None
    assert unfit_reason(engine) == "GOOG's bars are not on the run's common clock"


class Tweaked(SmaCross):
    """Changes what next() does but inherits SmaCross's kernel: the kernel no longer
    describes it, so research must not use it."""

    def next(self) -> None:
        super().next()


class TweakedWithKernel(Tweaked):
    @classmethod
    def kernel(cls) -> Kernel:
        return SmaCrossKernel()


def test_a_subclass_changing_next_does_not_inherit_the_kernel() -> None:
    inputs = ResearchInputs(SMA, ("GOOG",), None, None, "1d", BrokerConfig())
    loaded = load_inputs(inputs, DataStore(SAMPLE_DATA))
    tweaked = BacktestEngine(Tweaked, loaded.bars, BrokerConfig(), costs=loaded.costs)
    assert KernelEngine.for_engine(tweaked) is None
    assert unfit_reason(tweaked) == "Tweaked overrides next() but inherits its kernel"
    declared = BacktestEngine(TweakedWithKernel, loaded.bars, BrokerConfig(), costs=loaded.costs)
    assert unfit_reason(declared) is None  # its author vouches for the kernel
