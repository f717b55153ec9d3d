"""Overfitting statistics of a walk-forward (tradd.research.stats does the mathematics).

- Per window: the Probability of Backtest Overfitting (CSCV, 16 blocks) over the daily IS
  returns of the window's distinct completed trials. It needs at least two trials and 32
  IS days; otherwise the window carries a note saying why it was not computed.
- Summary: `pbo_mean`, the mean of the windows' PBOs. Every window has the same number of
  splits, so this is also the PBO of all windows' splits pooled, which is what the warnings
  describe. `deflated_sharpe`: the DSR of the stitched OOS daily returns, with `n_trials` the
  mean number of distinct trials per window and `trial_sharpe_variance` the mean over windows
  of the variance (ddof=1) of the trials' per-day IS Sharpe ratios. Averaging within
  windows keeps the differences between market regimes out of the trial-to-trial spread.

All series are daily returns in excess of the risk-free rate (rate / 252 a day), as the
Sharpe ratios in the metrics are.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from tradd.research.stats.dsr import DeflatedSharpe, deflated_sharpe_ratio
from tradd.research.stats.pbo import BacktestOverfitting, probability_of_backtest_overfitting
from tradd.research.stats.warnings import overfitting_warnings

FloatArray = npt.NDArray[np.float64]
MIN_STD = 1e-12


@dataclass(frozen=True)
class WindowOverfitting:
    pbo: BacktestOverfitting | None = None
    note: str = ""
    """Why the PBO is missing, when it is."""
    trial_sharpe_variance: float | None = None
    """Variance (ddof=1) across the window's trials of their per-day IS Sharpe ratios."""
    distinct_trials: int = 0

    def as_dict(self) -> dict[str, Any]:
        if self.pbo is None:
            return {"pbo": None, "note": self.note}
        return self.pbo.as_dict()


def window_overfitting(returns: FloatArray, daily_risk_free: float = 0.0) -> WindowOverfitting:
    """PBO and the trials' Sharpe spread for one window's T x N IS returns."""
    excess = returns - daily_risk_free
    trials = excess.shape[1]
    sharpes = per_period_sharpes(excess)
    variance = float(np.var(sharpes, ddof=1)) if trials >= 2 else None
    try:
        pbo = probability_of_backtest_overfitting(excess)
    except ValueError as exc:
        return WindowOverfitting(None, f"PBO not computed: {exc}", variance, trials)
    return WindowOverfitting(pbo, "", variance, trials)


def per_period_sharpes(returns: FloatArray) -> FloatArray:
    """Mean over sample std (ddof=1) per column; flat columns are 0 (the metrics' rule)."""
    if returns.shape[0] < 2:
        return np.zeros(returns.shape[1])
    std = returns.std(axis=0, ddof=1)
    flat = std <= MIN_STD
    sharpes: FloatArray = np.where(flat, 0.0, returns.mean(axis=0) / np.where(flat, 1.0, std))
    return sharpes


def summary_overfitting(
    windows: Sequence[WindowOverfitting],
    oos_daily: FloatArray,
    daily_risk_free: float = 0.0,
    periods_per_year: float = 252,
) -> dict[str, Any]:
    """The summary's `overfitting` section: deflated Sharpe, mean PBO, plain warnings."""
    notes: list[str] = []
    dsr = _deflated(windows, oos_daily - daily_risk_free, periods_per_year, notes)
    pooled = _pooled_pbo([w.pbo for w in windows if w.pbo is not None])
    computed = sum(1 for w in windows if w.pbo is not None)
    if computed < len(windows):
        notes.append(f"PBO computed for {computed} of {len(windows)} windows")
    return {
        "deflated_sharpe": dsr.as_dict() if dsr is not None else None,
        "pbo_mean": pooled.pbo if pooled is not None else None,
        "pbo_windows": computed,
        "warnings": overfitting_warnings(dsr, pooled),
        "notes": notes,
    }


def _deflated(
    windows: Sequence[WindowOverfitting],
    excess: FloatArray,
    periods_per_year: float,
    notes: list[str],
) -> DeflatedSharpe | None:
    variances = [w.trial_sharpe_variance for w in windows if w.trial_sharpe_variance is not None]
    n_trials = max(1, round(float(np.mean([w.distinct_trials for w in windows] or [1]))))
    variance = float(np.mean(variances)) if variances else 0.0
    try:
        return deflated_sharpe_ratio(
            excess,
            n_trials=n_trials,
            trial_sharpe_variance=variance,
            periods_per_year=periods_per_year,
        )
    except ValueError as exc:
        notes.append(f"deflated Sharpe not computed: {exc}")
        return None


def _pooled_pbo(results: Sequence[BacktestOverfitting]) -> BacktestOverfitting | None:
    """All windows' splits as one set: the PBO is the mean of the windows' (equal splits)."""
    if not results:
        return None
    return BacktestOverfitting(
        pbo=float(np.mean([r.pbo for r in results])),
        splits=sum(r.splits for r in results),
        blocks=results[0].blocks,
        logits=tuple(v for r in results for v in r.logits),
        probability_of_loss=float(np.mean([r.probability_of_loss for r in results])),
        degradation_slope=math.nan,
    )
