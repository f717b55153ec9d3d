"""The screen's numba objective against `research.metrics`: the same value to rounding,
for every objective, daily and intraday, with a risk-free rate and a warm-up cut."""

from __future__ import annotations

import pytest

from tradd.marketdata.store import DataStore
from tradd.research.broker import BrokerConfig
from tradd.research.engine import BacktestEngine
from tradd.research.kernels.engine import KernelEngine
from tradd.research.metrics import run_metrics
from tradd.research.optimize.screen import _Scorer
from tradd.research.optimize.trial import TrialPlan
from tradd.research.scoring import OBJECTIVES, objective_value
from tradd.research.setup import ResearchInputs, load_inputs

from ...conftest import SAMPLE_DATA

CASES = [
    ("ORCL", "1d", "strategies.sma_cross.SmaCross",
     [{"fast": f, "slow": s, "threshold": 0.0} for f in (5, 20, 40) for s in (70, 150)]),
    ("IDXFUT", "5m", "strategies.rsi.RsiReversion",
     [{"period": p, "oversold": o, "overbought": 100 - o} for p in (2, 9) for o in (25, 35)]),
]  # fmt: skip


@pytest.mark.parametrize(("symbol", "bar", "strategy", "combos"), CASES)
def test_screen_objective_equals_the_metrics(
    symbol: str, bar: str, strategy: str, combos: list[dict[str, float]]
) -> None:
    inputs = ResearchInputs(strategy, (symbol,), None, None, bar, BrokerConfig())
    loaded = load_inputs(inputs, DataStore(SAMPLE_DATA))
    engine = BacktestEngine(loaded.strategy, loaded.bars, BrokerConfig(), costs=loaded.costs)
    kernel = KernelEngine.for_engine(engine)
    assert kernel is not None
    for objective in OBJECTIVES:
        plan = TrialPlan(engine, [], objective, 100_000.0, 0.02, False, basis=loaded.basis,
                         first=100)  # fmt: skip
        scorer = _Scorer(kernel, plan)
        for params in combos:
            result = kernel.run(params)
            metrics = run_metrics(
                result, result.equity[100:], engine.clock[100:], initial_cash=100_000.0,
                symbols=1, risk_free_rate=0.02, basis=loaded.basis,
            ).as_dict()  # fmt: skip
            expected = objective_value(metrics, objective)
            assert scorer(params) == pytest.approx(expected, rel=1e-12, abs=1e-12), (
                objective, params)  # fmt: skip
