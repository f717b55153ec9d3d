"""The Probability of Backtest Overfitting by combinatorially symmetric cross-validation
(Bailey, Borwein, Lopez de Prado and Zhu, 2017, "The Probability of Backtest Overfitting").

The question: when we pick the configuration that did best in sample, how often does it do
worse than the typical configuration out of sample? The periods are cut into S blocks; every
way of choosing S/2 of them as the in-sample half (the rest is out of sample) is one split.
In each split the in-sample best is found and its out-of-sample relative rank w in (0, 1)
taken; logit = ln(w / (1 - w)) is <= 0 when it ranked at or below the out-of-sample median.
PBO is the share of splits with logit <= 0. A real edge keeps ranking high out of sample
(PBO near 0); pure selection of noise gives PBO around 0.5 or more.

Performance is the per-period Sharpe ratio over the union of a half's blocks (ddof=1; flat
returns count as Sharpe 0, the metrics' convention). When the periods do not divide evenly,
blocks differ in length by at most one period: no period is dropped. Ties: the in-sample
best is the first (lowest column) of the tied; tied out-of-sample values share their
average rank.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

MIN_STD = 1e-12
SPLITS_PER_CHUNK = 2048
"""Splits evaluated at once: bounds memory (C(16, 8) = 12,870 splits x N trials)."""


@dataclass(frozen=True)
class BacktestOverfitting:
    pbo: float
    """Share of splits whose in-sample best ranks at or below the OOS median (logit <= 0)."""
    splits: int
    """C(S, S/2)."""
    blocks: int
    logits: tuple[float, ...]
    probability_of_loss: float
    """Share of splits where the in-sample best has an out-of-sample Sharpe < 0."""
    degradation_slope: float
    """OLS slope of the selected's OOS Sharpe on its IS Sharpe across splits (the paper's
    performance degradation; negative means better in sample predicts worse out of sample).
    NaN when the in-sample Sharpe does not vary."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready; the logits are summarised by their quartiles."""
        quartiles = np.quantile(np.asarray(self.logits), [0.25, 0.5, 0.75]).tolist()
        slope = self.degradation_slope
        return {
            "pbo": self.pbo,
            "splits": self.splits,
            "blocks": self.blocks,
            "probability_of_loss": self.probability_of_loss,
            "degradation_slope": None if math.isnan(slope) else slope,
            "logit_quartiles": [float(q) for q in quartiles],
        }


def probability_of_backtest_overfitting(
    returns: npt.NDArray[np.float64], blocks: int = 16
) -> BacktestOverfitting:
    """PBO of choosing the best column of `returns` (T periods x N trials) by Sharpe."""
    matrix = _checked(returns, blocks)
    moments = _BlockMoments.of(matrix, blocks)
    combos = list(itertools.combinations(range(blocks), blocks // 2))
    parts = [
        _select(moments, combos[i : i + SPLITS_PER_CHUNK])
        for i in range(0, len(combos), SPLITS_PER_CHUNK)
    ]
    lam, x, y = (np.concatenate([p[k] for p in parts]) for k in range(3))
    return BacktestOverfitting(
        pbo=float(np.mean(lam <= 0.0)),
        splits=len(combos),
        blocks=blocks,
        logits=tuple(float(v) for v in lam),
        probability_of_loss=float(np.mean(y < 0.0)),
        degradation_slope=_ols_slope(x, y),
    )


def _select(
    moments: _BlockMoments, combos: list[tuple[int, ...]]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """For each split (its in-sample blocks): the logit of the in-sample best's OOS relative
    rank, and that trial's in-sample and out-of-sample Sharpe."""
    inside = np.array(combos, dtype=np.intp)
    is_out = np.ones((len(combos), len(moments.lengths)), dtype=bool)
    np.put_along_axis(is_out, inside, False, axis=1)
    outside = np.nonzero(is_out)[1].reshape(inside.shape)  # row by row: the complements
    is_sharpe = moments.sharpe(inside)
    oos_sharpe = moments.sharpe(outside)
    rows = np.arange(len(combos))
    best = np.argmax(is_sharpe, axis=1)
    selected = oos_sharpe[rows, best]
    below = (oos_sharpe < selected[:, None]).sum(axis=1)
    tied = (oos_sharpe == selected[:, None]).sum(axis=1)  # includes the selected itself
    w = (below + (tied + 1) / 2.0) / (oos_sharpe.shape[1] + 1)
    return np.log(w / (1.0 - w)), is_sharpe[rows, best], selected


def _checked(returns: npt.NDArray[np.float64], blocks: int) -> npt.NDArray[np.float64]:
    matrix = np.asarray(returns, dtype=np.float64)
    if matrix.ndim != 2:
        raise ValueError(f"returns must be periods x trials (2-D), got shape {matrix.shape}")
    periods, trials = matrix.shape
    if trials < 2:
        raise ValueError(f"PBO needs at least 2 trials to choose between, got {trials}")
    if blocks < 2 or blocks % 2:
        raise ValueError(f"blocks must be an even number >= 2, got {blocks}")
    if periods < 2 * blocks:
        raise ValueError(
            f"PBO with {blocks} blocks needs at least {2 * blocks} periods "
            f"(2 per block), got {periods}"
        )
    if not np.isfinite(matrix).all():
        raise ValueError("the returns contain NaN or infinite values")
    return matrix


@dataclass(frozen=True)
class _BlockMoments:
    """Per block and trial: the sum and sum of squares of the returns less the trial's mean
    (centring keeps the variance accurate), the lowest and highest return; and each block's
    length. A union of blocks then costs a matrix product, not a pass over its periods.

    Flatness comes from the exact lows and highs, not the variance: a trial that did not
    trade in the union has identical returns there, but centring on a mean that includes
    its trading leaves a rounding residue (a Sharpe of about 1e-8 with either sign), which
    would rank flat trials against each other by noise instead of tying them at 0."""

    sums: npt.NDArray[np.float64]
    squares: npt.NDArray[np.float64]
    lows: npt.NDArray[np.float64]
    highs: npt.NDArray[np.float64]
    lengths: npt.NDArray[np.float64]
    means: npt.NDArray[np.float64]

    @staticmethod
    def of(matrix: npt.NDArray[np.float64], blocks: int) -> _BlockMoments:
        means = matrix.mean(axis=0)
        parts = np.array_split(matrix - means, blocks, axis=0)
        raw = np.array_split(matrix, blocks, axis=0)
        return _BlockMoments(
            np.stack([p.sum(axis=0) for p in parts]),
            np.stack([(p**2).sum(axis=0) for p in parts]),
            np.stack([r.min(axis=0) for r in raw]),
            np.stack([r.max(axis=0) for r in raw]),
            np.array([len(p) for p in parts], dtype=np.float64),
            means,
        )

    def sharpe(self, unions: npt.NDArray[np.intp]) -> npt.NDArray[np.float64]:
        """Per-period Sharpe (ddof=1) of each trial over each row's blocks (block indices)."""
        union = np.zeros((len(unions), len(self.lengths)), dtype=np.float64)
        np.put_along_axis(union, unions, 1.0, axis=1)
        total, squares = union @ self.sums, union @ self.squares
        n = (union @ self.lengths)[:, None]
        variance = np.maximum(squares - total**2 / n, 0.0) / (n - 1.0)
        std = np.sqrt(variance)
        mean = total / n + self.means
        low, high = self.lows[unions[:, 0]], self.highs[unions[:, 0]]
        for k in range(1, unions.shape[1]):  # column by column: memory stays splits x trials
            low = np.minimum(low, self.lows[unions[:, k]])
            high = np.maximum(high, self.highs[unions[:, k]])
        flat = (low == high) | (std <= MIN_STD)
        sharpe: npt.NDArray[np.float64] = np.where(flat, 0.0, mean / np.where(flat, 1.0, std))
        return sharpe


def _ols_slope(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]) -> float:
    dx = x - x.mean()
    spread = float(np.dot(dx, dx))
    if spread <= 1e-24:
        return math.nan
    return float(np.dot(dx, y - y.mean()) / spread)
