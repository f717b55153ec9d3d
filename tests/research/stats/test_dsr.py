"""Deflated Sharpe Ratio against the paper's worked example and independent computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from tradd.research.stats.dsr import (
    DeflatedSharpe,
    deflated_sharpe_ratio,
    expected_max_sharpe,
    probabilistic_sharpe_ratio,
)

# Bailey and Lopez de Prado (2014), the numerical example: a strategy with an annualised
# Sharpe of 2.5 over five years of daily data (T = 1250, 250 days a year), found after
# N = 100 trials whose annualised Sharpe ratios have variance 1/2; skewness -3, kurtosis 10.
# The paper gives SR0 ~= 0.1132 (per day) and DSR ~= 0.9004; with N = 46 the DSR would have
# been 0.9505, and with normal returns (skew 0, kurtosis 3) N = 88 gives 0.9505.
PAPER_DAYS = 250
PAPER_SHARPE = 2.5 / math.sqrt(PAPER_DAYS)
PAPER_VARIANCE = 0.5 / PAPER_DAYS


def test_the_papers_expected_maximum_sharpe() -> None:
    assert expected_max_sharpe(100, PAPER_VARIANCE) == pytest.approx(0.1132, abs=5e-5)


@pytest.mark.parametrize(
    ("trials", "skew", "kurtosis", "dsr"),
    [(100, -3.0, 10.0, 0.9004), (46, -3.0, 10.0, 0.9505), (88, 0.0, 3.0, 0.9505)],
)
def test_the_papers_deflated_sharpe(trials: int, skew: float, kurtosis: float, dsr: float) -> None:
    sr0 = expected_max_sharpe(trials, PAPER_VARIANCE)
    value = probabilistic_sharpe_ratio(PAPER_SHARPE, sr0, 1250, skew, kurtosis)
    assert value == pytest.approx(dsr, abs=5e-5)


def test_cross_check_against_pypbo_reference_values() -> None:
    """esvhd/pypbo's tests (pypbo/tests/pbo_tests.py) pin these to 16 digits: E[max] of 100
    standard normals, the PSR example of "The Sharpe Ratio Efficient Frontier" (monthly
    Sharpe 1.585 / sqrt(12) over 24 months, skew -2.448, kurtosis 10.164), and the DSR
    paper's example. An independent implementation agreeing to 1e-12 rules out a slip in
    either formula (a sqrt(T) for sqrt(T - 1), excess kurtosis for kurtosis, ...)."""
    assert expected_max_sharpe(100, 1.0) == pytest.approx(2.5306028932016846, rel=1e-12)
    psr = probabilistic_sharpe_ratio(1.585 / math.sqrt(12), 0.0, 24, -2.448, 10.164)
    assert psr == pytest.approx(0.91323430688486018, rel=1e-12)
    sr0 = expected_max_sharpe(100, PAPER_VARIANCE)
    dsr = probabilistic_sharpe_ratio(PAPER_SHARPE, sr0, 1250, -3.0, 10.0)
    assert dsr == pytest.approx(0.90039683444939034, rel=1e-12)


def test_expected_maximum_matches_the_formula_with_scipy() -> None:
    n, variance, gamma = 37, 0.004, 0.5772156649015329
    z = (1 - gamma) * stats.norm.ppf(1 - 1 / n) + gamma * stats.norm.ppf(1 - 1 / (n * math.e))
    assert expected_max_sharpe(n, variance) == pytest.approx(math.sqrt(variance) * z, rel=1e-9)


def test_expected_maximum_approximates_the_simulated_best_of_n() -> None:
    draws = np.random.default_rng(7).normal(0.0, 0.1, size=(4000, 50)).max(axis=1)
    assert expected_max_sharpe(50, 0.01) == pytest.approx(draws.mean(), rel=0.03)


def test_one_trial_has_no_selection_and_more_trials_raise_the_bar() -> None:
    assert expected_max_sharpe(1, 0.5) == 0.0
    assert expected_max_sharpe(10, 0.0) == 0.0
    assert 0 < expected_max_sharpe(10, 0.01) < expected_max_sharpe(1000, 0.01)


@pytest.mark.parametrize(
    ("sharpe", "benchmark", "t", "skew", "kurtosis"),
    [(0.1, 0.0, 252, 0.0, 3.0), (0.05, 0.02, 1000, -1.0, 6.0), (-0.03, 0.0, 500, 0.5, 4.0)],
)
def test_psr_by_hand_against_scipy(
    sharpe: float, benchmark: float, t: int, skew: float, kurtosis: float
) -> None:
    se = math.sqrt((1 - skew * sharpe + (kurtosis - 1) / 4 * sharpe**2) / (t - 1))
    expected = stats.norm.cdf((sharpe - benchmark) / se)
    assert probabilistic_sharpe_ratio(sharpe, benchmark, t, skew, kurtosis) == pytest.approx(
        expected, rel=1e-9
    )


def test_psr_hand_values() -> None:
    # SR 0.1 over 101 normal days: z = 0.1 * 10 / sqrt(1 + 0.5 * 0.01) = 0.997509...
    assert probabilistic_sharpe_ratio(0.1, 0.0, 101, 0.0, 3.0) == pytest.approx(
        stats.norm.cdf(1 / math.sqrt(1.005)), rel=1e-12
    )
    assert probabilistic_sharpe_ratio(0.07, 0.07, 300, -2.0, 9.0) == 0.5


def test_deflated_sharpe_ratio_of_returns() -> None:
    returns = np.random.default_rng(3).standard_t(4, 1500) * 0.01 + 0.0008
    result = deflated_sharpe_ratio(returns, n_trials=20, trial_sharpe_variance=0.002)
    sr = returns.mean() / returns.std(ddof=1)
    skew, kurt = stats.skew(returns), stats.kurtosis(returns, fisher=False)
    sr0 = expected_max_sharpe(20, 0.002)
    se = math.sqrt((1 - skew * sr + (kurt - 1) / 4 * sr**2) / (len(returns) - 1))
    assert result.sharpe == pytest.approx(sr * math.sqrt(252), rel=1e-12)
    assert result.expected_max_sharpe == pytest.approx(sr0 * math.sqrt(252), rel=1e-12)
    assert (result.skew, result.kurtosis) == pytest.approx((skew, kurt), rel=1e-9)
    assert result.dsr == pytest.approx(stats.norm.cdf((sr - sr0) / se), rel=1e-9)
    assert (result.n_trials, result.observations) == (20, 1500)
    assert result.as_dict() == {
        "sharpe": result.sharpe,
        "expected_max_sharpe": result.expected_max_sharpe,
        "n_trials": 20,
        "observations": 1500,
        "skew": result.skew,
        "kurtosis": result.kurtosis,
        "dsr": result.dsr,
    }


def test_one_trial_is_the_psr_against_zero_and_annualisation_is_a_parameter() -> None:
    returns = np.random.default_rng(5).normal(0.001, 0.01, 300)
    result = deflated_sharpe_ratio(
        returns, n_trials=1, trial_sharpe_variance=0.0, periods_per_year=12
    )
    assert isinstance(result, DeflatedSharpe)
    assert result.expected_max_sharpe == 0.0
    sr = returns.mean() / returns.std(ddof=1)
    assert result.sharpe == pytest.approx(sr * math.sqrt(12))
    assert result.dsr == pytest.approx(
        probabilistic_sharpe_ratio(sr, 0.0, 300, result.skew, result.kurtosis)
    )


def test_more_trials_deflate_the_same_returns_more() -> None:
    returns = np.random.default_rng(9).normal(0.0006, 0.01, 1000)
    few = deflated_sharpe_ratio(returns, n_trials=2, trial_sharpe_variance=0.001).dsr
    many = deflated_sharpe_ratio(returns, n_trials=500, trial_sharpe_variance=0.001).dsr
    assert 0.0 <= many < few <= 1.0


@pytest.mark.parametrize(
    ("returns", "message"),
    [
        (np.array([0.01, 0.02]), "at least 3 returns"),
        (np.zeros(50), "zero standard deviation"),
        (np.full(50, 0.001), "zero standard deviation"),
        (np.array([0.01, np.nan, 0.02, 0.0]), "NaN"),
        (np.zeros((5, 2)), "1-D"),
    ],
)
def test_degenerate_returns_are_refused(returns: np.ndarray, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValueError, match=message):
        deflated_sharpe_ratio(returns, n_trials=3, trial_sharpe_variance=0.001)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="n_trials"):
        expected_max_sharpe(0, 0.1)
    with pytest.raises(ValueError, match="variance"):
        expected_max_sharpe(5, -0.1)
    with pytest.raises(ValueError, match="observations"):
        probabilistic_sharpe_ratio(0.1, 0.0, 1, 0.0, 3.0)
    with pytest.raises(ValueError, match="inconsistent"):
        probabilistic_sharpe_ratio(0.5, 0.0, 100, 4.0, 1.0)
