"""Probability of Backtest Overfitting (CSCV) on worked examples."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from tradd.research.stats.pbo import probability_of_backtest_overfitting


def test_a_tiny_case_by_hand() -> None:
    """T = 4, 2 blocks of 2 days, 3 strategies. A pair [a + d, a - d] has Sharpe a / (d√2).

    Block 0 (days 0-1): A [4, 2] -> 3/√2 = 2.12, B [3, 1] -> 1.41, C [0, -2] -> -0.71.
    Block 1 (days 2-3): A [1, -1] -> 0,         B [3, 1] -> 1.41, C [5, 3] -> 4/√2 = 2.83.
    Split 1 (in sample block 0): A is best; out of sample A ranks 1st of 3 (worst):
        w = 1/4, logit = ln(1/3); its OOS Sharpe 0 is not a loss.
    Split 2 (in sample block 1): C is best; out of sample C ranks worst again: logit ln(1/3),
        OOS Sharpe -0.71 is a loss.
    PBO = 2/2, probability of loss 1/2; the selected (IS, OOS) points are (2.12, 0) and
    (2.83, -0.71): slope -0.71 / 0.71 = -1.
    """
    returns = 0.01 * np.array([[4, 3, 0], [2, 1, -2], [1, 3, 5], [-1, 1, 3]], dtype=float)
    result = probability_of_backtest_overfitting(returns, blocks=2)
    assert (result.splits, result.blocks) == (2, 2)
    assert result.logits == pytest.approx((math.log(1 / 3), math.log(1 / 3)))
    assert result.pbo == 1.0
    assert result.probability_of_loss == 0.5
    assert result.degradation_slope == pytest.approx(-1.0)


def test_the_selected_at_the_median_counts_as_overfit() -> None:
    """Same shape. Days 0-1 are block 0, days 2-3 block 1; Sharpes as in the case above."""
    # Block 0: A [3, 1] 1.41, B [4, 2] 2.12, C [1, -1] 0; block 1: the same values.
    # B is best in sample in both splits and best out of sample: w = 3/4, logit ln 3.
    returns = 0.01 * np.array([[3, 4, 1], [1, 2, -1], [3, 4, 5], [1, 2, -5]], dtype=float)
    result = probability_of_backtest_overfitting(returns, blocks=2)
    assert result.logits == pytest.approx((math.log(3), math.log(3)))
    assert result.pbo == 0.0
    # Block 1 now: A [4, 2] 2.12, B [3, 1] 1.41, C [5, -5] 0. Split 1: B leads block 0 and
    # is the middle of 3 in block 1 (w = 2/4, logit 0); split 2: A leads block 1 and is the
    # middle in block 0. Logit 0 is "at or below the median": PBO 1.
    middle = 0.01 * np.array([[3, 4, 1], [1, 2, -1], [4, 3, 5], [2, 1, -5]], dtype=float)
    result = probability_of_backtest_overfitting(middle, blocks=2)
    assert result.logits == (0.0, 0.0)
    assert result.pbo == 1.0


def test_noise_strategies_are_a_coin_flip() -> None:
    """Selecting among pure noise: the OOS rank of the IS best is uniform, PBO ~ 0.5."""
    rng = np.random.default_rng(2017)
    values = [
        probability_of_backtest_overfitting(rng.normal(0, 0.01, (400, 10)), blocks=8).pbo
        for _ in range(40)
    ]
    assert 0.35 < float(np.mean(values)) < 0.65


def test_a_genuine_edge_among_noise_is_not_overfit() -> None:
    rng = np.random.default_rng(11)
    returns = rng.normal(0, 0.01, (1000, 20))
    returns[:, 7] += 0.002  # a daily Sharpe of 0.2 (about 3 annualised)
    result = probability_of_backtest_overfitting(returns)
    assert result.splits == math.comb(16, 8) == 12870
    assert result.pbo < 0.05
    assert result.probability_of_loss < 0.05
    assert len(result.logits) == result.splits


def test_uneven_periods_use_every_day() -> None:
    """35 days in 4 blocks: blocks of 9, 9, 9, 8 days; moving the last day changes results."""
    rng = np.random.default_rng(4)
    returns = rng.normal(0, 0.01, (35, 3))
    base = probability_of_backtest_overfitting(returns, blocks=4)
    assert base.splits == 6
    changed = returns.copy()
    changed[-1] = [0.5, -0.5, 0.0]
    assert probability_of_backtest_overfitting(changed, blocks=4).logits != base.logits


def test_against_a_direct_loop() -> None:
    """The vectorised block arithmetic equals recomputing each split from its days."""
    rng = np.random.default_rng(8)
    returns = rng.normal(0.0003, 0.01, (60, 5))
    result = probability_of_backtest_overfitting(returns, blocks=6)
    parts = np.array_split(np.arange(60), 6)
    expected = []
    for combo in itertools.combinations(range(6), 3):
        inside = np.concatenate([parts[i] for i in combo])
        outside = np.setdiff1d(np.arange(60), inside)
        sr_is = returns[inside].mean(0) / returns[inside].std(0, ddof=1)
        sr_oos = returns[outside].mean(0) / returns[outside].std(0, ddof=1)
        rank = 1 + int((sr_oos < sr_oos[int(np.argmax(sr_is))]).sum())
        w = rank / 6
        expected.append(math.log(w / (1 - w)))
    assert result.logits == pytest.approx(expected, rel=1e-9)
    assert result.pbo == pytest.approx(np.mean(np.array(expected) <= 0))


def _pypbo_style_logits(returns: np.ndarray, blocks: int) -> list[float]:  # type: ignore[type-arg]
    """esvhd/pypbo's procedure, written out: scipy's average ranks, the in-sample best the
    first of the top-ranked, w = OOS rank / (N + 1); Sharpe from each half's own days (flat
    = 0, as in tradd's metrics)."""
    from scipy.stats import rankdata

    periods, trials = returns.shape
    parts = np.array_split(np.arange(periods), blocks)

    def sharpe(rows: np.ndarray) -> np.ndarray:  # type: ignore[type-arg]
        std = returns[rows].std(0, ddof=1)
        flat = std <= 1e-12
        return np.where(flat, 0.0, returns[rows].mean(0) / np.where(flat, 1.0, std))

    logits = []
    for combo in itertools.combinations(range(blocks), blocks // 2):
        inside = np.concatenate([parts[i] for i in combo])
        outside = np.setdiff1d(np.arange(periods), inside)
        best = int(np.argmax(rankdata(sharpe(inside))))
        w = rankdata(sharpe(outside))[best] / (trials + 1)
        logits.append(math.log(w / (1 - w)))
    return logits


def test_ties_match_a_pypbo_style_loop() -> None:
    """Duplicated and flat columns make ties both in and out of sample, the case the direct
    loop above does not reach."""
    rng = np.random.default_rng(21)
    base = rng.normal(0.0002, 0.01, (48, 3))
    returns = np.column_stack([base[:, 0], base[:, 0], np.zeros(48), base[:, 1], base[:, 2]])
    result = probability_of_backtest_overfitting(returns, blocks=4)
    expected = _pypbo_style_logits(returns, 4)
    assert result.logits == pytest.approx(expected, rel=1e-9)
    assert result.pbo == pytest.approx(np.mean(np.array(expected) <= 0))


@pytest.mark.parametrize("seed", [1, 8, 16])
def test_trials_idle_for_part_of_the_period_tie_where_idle(seed: int) -> None:
    """Each trial trades for a stretch and is flat (returns exactly 0) elsewhere, as an
    optimization's slow settings are. Over a half where two trials are both idle their
    Sharpe ratios are both 0 and tie; rounding must not rank them (it once did, moving the
    PBO by several points)."""
    rng = np.random.default_rng(seed)
    returns = np.zeros((320, 8))
    for j in range(8):
        start = int(rng.integers(0, 160))
        returns[start : start + 80, j] = rng.normal(0.001, 0.01, 80)
    result = probability_of_backtest_overfitting(returns, blocks=8)
    expected = _pypbo_style_logits(returns, 8)
    assert result.logits == pytest.approx(expected, rel=1e-9)
    assert result.pbo == np.mean(np.array(expected) <= 0)


def test_flat_strategies_have_sharpe_zero_and_share_ranks() -> None:
    rng = np.random.default_rng(1)
    returns = np.zeros((40, 3))
    returns[:, 0] = rng.normal(0.001, 0.01, 40)
    result = probability_of_backtest_overfitting(returns, blocks=4)
    assert all(math.isfinite(v) for v in result.logits)
    assert 0.0 <= result.pbo <= 1.0


def test_as_dict_is_short() -> None:
    result = probability_of_backtest_overfitting(
        np.random.default_rng(2).normal(0, 0.01, (64, 4)), blocks=4
    )
    summary = result.as_dict()
    assert set(summary) == {
        "pbo",
        "splits",
        "blocks",
        "probability_of_loss",
        "degradation_slope",
        "logit_quartiles",
    }
    assert summary["pbo"] == result.pbo and len(summary["logit_quartiles"]) == 3


@pytest.mark.parametrize(
    ("shape", "blocks", "message"),
    [
        ((40, 1), 4, "at least 2 trials"),
        ((40, 3), 3, "even"),
        ((40, 3), 0, "even"),
        ((7, 3), 4, "at least 8 periods"),
        ((40,), 4, "2-D"),
    ],
)
def test_bad_input_is_refused(shape: tuple[int, ...], blocks: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        probability_of_backtest_overfitting(np.ones(shape), blocks=blocks)


def test_nan_is_refused() -> None:
    returns = np.random.default_rng(0).normal(0, 0.01, (20, 2))
    returns[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        probability_of_backtest_overfitting(returns, blocks=2)
