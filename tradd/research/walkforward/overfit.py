"""Overfitting statistics of a walk-forward (tradd.research.stats does the mathematics).

Selection happens in sample, so luck is accounted for there; the stitched out-of-sample
returns were not picked as the best of anything (docs/walkforward-statistics.md):

- Per window: the Deflated Sharpe Ratio of the best IS trial (the one the window chose),
  with `n_trials` the window's distinct completed trials and `trial_sharpe_variance` the
  variance (ddof=1) of their per-period IS Sharpe ratios (one trial: the PSR against 0).
  And the Probability of Backtest Overfitting (CSCV, 16 blocks) over the IS returns of the
  window's distinct completed trials; it needs at least two trials and 32 IS periods,
  otherwise the window carries a note saying why it was not computed.
- Summary: `oos_psr`, the Probabilistic Sharpe Ratio of the stitched OOS returns against a
  Sharpe of 0; `is_dsr`, each window's DSR; `pbo_mean`, the mean of the windows' PBOs.
  Every window has the same number of splits, so this is also the PBO of all windows'
  splits pooled, which is what the warnings describe.

All series are per-period returns in excess of the risk-free rate, as the Sharpe ratios
in the metrics are.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from tradd.research.stats.dsr import (
    DeflatedSharpe,
    ProbabilisticSharpe,
    deflated_sharpe_ratio,
    probabilistic_sharpe,
)
from tradd.research.stats.pbo import BacktestOverfitting, probability_of_backtest_overfitting
from tradd.research.stats.warnings import overfitting_warnings, psr_warning, window_dsr_warning

FloatArray = npt.NDArray[np.float64]
MIN_STD = 1e-12


@dataclass(frozen=True)
class WindowOverfitting:
    pbo: BacktestOverfitting | None = None
    note: str = ""
    """Why the PBO is missing, when it is."""
    trial_sharpe_variance: float | None = None
    """Variance (ddof=1) across the window's trials of their per-period IS Sharpe ratios."""
    distinct_trials: int = 0
    dsr: DeflatedSharpe | None = None
    """The DSR of the best IS trial given the window's trials."""
    dsr_note: str = ""
    """Why the DSR is missing, when it is."""

    def as_dict(self) -> dict[str, Any]:
        if self.pbo is None:
            return {"pbo": None, "note": self.note}
        return self.pbo.as_dict()

    def dsr_dict(self) -> dict[str, Any]:
        if self.dsr is None:
            return {"dsr": None, "note": self.dsr_note}
        return self.dsr.as_dict()


def window_overfitting(
    returns: FloatArray,
    daily_risk_free: float = 0.0,
    *,
    best: int | None = None,
    periods_per_year: float = 252,
) -> WindowOverfitting:
    """PBO, the trials' Sharpe spread and the best trial's DSR for one window's T x N IS
    returns; `best`: the column of the chosen trial (None: the highest Sharpe)."""
    excess = returns - daily_risk_free
    trials = excess.shape[1]
    sharpes = per_period_sharpes(excess)
    variance = float(np.var(sharpes, ddof=1)) if trials >= 2 else None
    dsr, dsr_note = _best_trial_dsr(excess, sharpes, best, variance, periods_per_year)
    try:
        pbo = probability_of_backtest_overfitting(excess)
    except ValueError as exc:
        return WindowOverfitting(None, f"PBO not computed: {exc}", variance, trials, dsr, dsr_note)
    return WindowOverfitting(pbo, "", variance, trials, dsr, dsr_note)


def _best_trial_dsr(
    excess: FloatArray,
    sharpes: FloatArray,
    best: int | None,
    variance: float | None,
    periods_per_year: float,
) -> tuple[DeflatedSharpe | None, str]:
    if excess.shape[1] == 0:
        return None, "DSR not computed: no completed trial"
    column = int(np.argmax(sharpes)) if best is None else best
    try:
        dsr = deflated_sharpe_ratio(
            excess[:, column],
            n_trials=excess.shape[1],
            trial_sharpe_variance=variance or 0.0,
            periods_per_year=periods_per_year,
        )
    except ValueError as exc:
        return None, f"DSR not computed: {exc}"
    return dsr, ""


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
    indices: Sequence[int] | None = None,
) -> dict[str, Any]:
    """The summary's `overfitting` section: the OOS PSR, each window's IS DSR, the mean
    PBO and plain warnings. `indices`: the windows' numbers (default 0, 1, ...)."""
    notes: list[str] = []
    psr = _oos_psr(oos_daily - daily_risk_free, periods_per_year, notes)
    pooled = _pooled_pbo([w.pbo for w in windows if w.pbo is not None])
    computed = sum(1 for w in windows if w.pbo is not None)
    if computed < len(windows):
        notes.append(f"PBO computed for {computed} of {len(windows)} windows")
    numbered = list(zip(indices or range(len(windows)), windows, strict=True))
    with_dsr = sum(1 for _, w in numbered if w.dsr is not None)
    if with_dsr < len(windows):
        notes.append(f"IS DSR computed for {with_dsr} of {len(windows)} windows")
    warnings = overfitting_warnings(None, pooled)
    more = (
        psr_warning(psr) if psr is not None else None,
        window_dsr_warning([(i, w.dsr) for i, w in numbered if w.dsr is not None]),
    )
    warnings += [m for m in more if m]
    return {
        "oos_psr": psr.as_dict() if psr is not None else None,
        "is_dsr": [{"window": i, **w.dsr_dict()} for i, w in numbered],
        "pbo_mean": pooled.pbo if pooled is not None else None,
        "pbo_windows": computed,
        "warnings": warnings,
        "notes": notes,
    }


def _oos_psr(
    excess: FloatArray, periods_per_year: float, notes: list[str]
) -> ProbabilisticSharpe | None:
    try:
        return probabilistic_sharpe(excess, periods_per_year=periods_per_year)
    except ValueError as exc:
        notes.append(f"OOS PSR not computed: {exc}")
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
