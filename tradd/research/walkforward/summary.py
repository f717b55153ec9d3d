"""The walk-forward summary and the stitched out-of-sample equity curve.

Definitions (Sharpe ratios annualised, returns and drawdowns in percent, as in the metrics):
- degradation (per window) = IS Sharpe - OOS Sharpe of the window's best parameters.
- avg_is_sharpe, avg_oos_sharpe, avg_degradation: plain means over the windows.
- degradation_pct = (avg_is_sharpe - avg_oos_sharpe) / |avg_is_sharpe| * 100; 0 when
  avg_is_sharpe is 0. Positive means OOS fell short of IS.
- consistency = share of windows whose OOS total return is > 0, a fraction in 0..1 (not %).
- walk_forward_efficiency (Pardo) = mean annualised OOS return / mean annualised IS return,
  the annualised return being each period's CAGR; None unless the IS mean is positive. Pardo
  reads >= 0.5 as robust. Over a losing IS the ratio is not an efficiency: IS -10 % and
  OOS -20 % would give 2.0, which reads as "better than robust", so it is not reported.
- parameter_stability, per optimized parameter: mean and sample std (ddof=1; 0 for a single
  window) of the chosen values across windows, and cv = std / |mean| (None when the mean is
  0); non-numeric (bool, text) parameters get None for these three. For every parameter
  also `most_common`, the value chosen in most windows (ties: the earliest window's), and
  `most_common_share`, the fraction of windows that chose it: for a text or bool parameter
  the only stability measure, and a check on a numeric one.
- The stitched OOS curve chains the windows' OOS equity multiplicatively: each window starts
  from the previous window's final value, scaled from its own starting cash. Its daily
  returns are the windows' daily OOS returns one after another; oos_total_return, oos_sharpe
  and oos_max_drawdown are measured on it.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from tradd.marketdata.bars import TimeArray
from tradd.research.metrics import (
    US_DAILY,
    ReturnBasis,
    max_drawdown_pct,
    period_returns,
    sharpe_ratio,
)
from tradd.research.walkforward.evaluate import WindowResult
from tradd.research.walkforward.overfit import summary_overfitting

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class ParamStability:
    mean: float | None
    std: float | None
    cv: float | None
    most_common: Any = None
    most_common_share: float | None = None


@dataclass(frozen=True)
class StitchedCurve:
    clock: TimeArray
    equity: FloatArray
    window: npt.NDArray[np.int64]
    """The window index of each point."""


@dataclass(frozen=True)
class WalkForwardSummary:
    avg_is_sharpe: float
    avg_oos_sharpe: float
    avg_degradation: float
    degradation_pct: float
    consistency: float
    parameter_stability: dict[str, ParamStability]
    walk_forward_efficiency: float | None
    windows: int
    oos_total_return: float
    oos_sharpe: float
    oos_max_drawdown: float
    overfitting: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "avg_is_sharpe": self.avg_is_sharpe,
            "avg_oos_sharpe": self.avg_oos_sharpe,
            "avg_degradation": self.avg_degradation,
            "degradation_pct": self.degradation_pct,
            "consistency": self.consistency,
            "parameter_stability": {
                name: asdict(stability) for name, stability in self.parameter_stability.items()
            },
            "walk_forward_efficiency": self.walk_forward_efficiency,
            "windows": self.windows,
            "oos_total_return": self.oos_total_return,
            "oos_sharpe": self.oos_sharpe,
            "oos_max_drawdown": self.oos_max_drawdown,
            "overfitting": self.overfitting,
        }


def summarize(
    results: Sequence[WindowResult],
    param_names: Sequence[str],
    initial_cash: float,
    risk_free_rate: float = 0.0,
    basis: ReturnBasis = US_DAILY,
) -> WalkForwardSummary:
    """The summary over `results` (at least one window)."""
    ordered = sorted(results, key=lambda r: r.window.index)
    is_sharpes = [r.is_metrics.sharpe for r in ordered]
    oos_sharpes = [r.oos_metrics.sharpe for r in ordered]
    avg_is, avg_oos = _mean(is_sharpes), _mean(oos_sharpes)
    curve = stitch(ordered, initial_cash)
    daily = period_returns(curve.equity, curve.clock, initial_cash, basis)
    final = float(curve.equity[-1]) if len(curve.equity) else initial_cash
    return WalkForwardSummary(
        avg_is_sharpe=avg_is,
        avg_oos_sharpe=avg_oos,
        avg_degradation=_mean([r.degradation for r in ordered]),
        degradation_pct=(avg_is - avg_oos) / abs(avg_is) * 100.0 if avg_is != 0 else 0.0,
        consistency=_mean([1.0 if r.oos_metrics.total_return > 0 else 0.0 for r in ordered]),
        parameter_stability={
            n: stability([r.best_params.get(n) for r in ordered]) for n in param_names
        },
        walk_forward_efficiency=efficiency(ordered),
        windows=len(ordered),
        oos_total_return=(final / initial_cash - 1.0) * 100.0,
        oos_sharpe=sharpe_ratio(daily, risk_free_rate, basis.periods_per_year),
        oos_max_drawdown=max_drawdown_pct(curve.equity, initial_cash) if len(daily) else 0.0,
        overfitting=summary_overfitting(
            [r.overfitting for r in ordered],
            daily,
            basis.period_rate(risk_free_rate),
            basis.periods_per_year,
            [r.window.index for r in ordered],
        ),
    )


def efficiency(results: Sequence[WindowResult]) -> float | None:
    """Pardo's walk-forward efficiency from the periods' annualised returns (CAGR); None
    unless in sample made money on average (the ratio is meaningless otherwise)."""
    mean_is = _mean([r.is_metrics.cagr for r in results])
    if not mean_is > 0:
        return None
    return _mean([r.oos_metrics.cagr for r in results]) / mean_is


def stability(values: Sequence[Any]) -> ParamStability:
    """`values`: the parameter's chosen value per window, in window order."""
    if not values:
        return ParamStability(None, None, None)
    counts = Counter(values)
    mode = max(counts, key=counts.__getitem__)  # max keeps the first seen of equal counts
    share = counts[mode] / len(values)
    if not all(_numeric(v) for v in values):
        return ParamStability(None, None, None, mode, share)
    numbers = np.asarray(values, dtype=np.float64)
    mean = float(numbers.mean())
    std = float(numbers.std(ddof=1)) if len(numbers) > 1 else 0.0
    return ParamStability(mean, std, std / abs(mean) if mean != 0 else None, mode, share)


def stitch(results: Sequence[WindowResult], initial_cash: float) -> StitchedCurve:
    """Chain the windows' OOS equity (in window order), each scaled to start where the last
    one ended."""
    ordered = sorted(results, key=lambda r: r.window.index)
    if not ordered:
        return StitchedCurve(np.array([], "datetime64[s]"), np.array([]), np.array([], np.int64))
    value = initial_cash
    parts: list[FloatArray] = []
    for r in ordered:
        scaled = r.oos_equity / initial_cash * value
        parts.append(scaled)
        if len(scaled):
            value = float(scaled[-1])
    return StitchedCurve(
        np.concatenate([r.oos_clock for r in ordered]),
        np.concatenate(parts),
        np.concatenate([np.full(len(r.oos_clock), r.window.index, np.int64) for r in ordered]),
    )


def _numeric(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _mean(values: Sequence[float]) -> float:
    return float(np.mean(values)) if values else 0.0
