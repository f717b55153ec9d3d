from __future__ import annotations

import math
import statistics

import numpy as np
import pytest
from scipy import stats

from tradd.research.stats.significance import (
    SignificanceTest,
    paired_t_test,
    sharpe_difference_test,
)

A = [0.012, -0.008, 0.015, 0.003, -0.011, 0.020, 0.004, -0.002, 0.009, -0.006]
B = [0.006, -0.004, 0.007, 0.001, -0.009, 0.010, 0.005, -0.001, 0.002, -0.003]


def _correlated(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    market = rng.normal(0.0004, 0.01, n)
    return market + rng.normal(0.0006, 0.006, n), market + rng.normal(0.0, 0.006, n)


def test_paired_t_test_equals_scipy_ttest_rel() -> None:
    for a, b in [(A, B), _correlated(750, 1), _correlated(40, 2)]:
        ours = paired_t_test(a, b)
        theirs = stats.ttest_rel(a, b)
        assert ours.statistic == pytest.approx(float(theirs.statistic), rel=1e-12)
        assert ours.p_value == pytest.approx(float(theirs.pvalue), rel=1e-9)
        assert ours.observations == len(a)
    assert "paired t-test" in paired_t_test(A, B).method


def test_sharpe_difference_test_against_memmel_by_hand() -> None:
    """Jobson-Korkie z with Memmel's (2003) variance, written out with the statistics
    module (sample moments, n - 1) and math.erfc for the normal tail."""
    t = len(A)
    m_a, m_b = statistics.mean(A), statistics.mean(B)
    v_a, v_b = statistics.variance(A), statistics.variance(B)
    s_a, s_b = math.sqrt(v_a), math.sqrt(v_b)
    s_ab = statistics.covariance(A, B)
    numerator = s_b * m_a - s_a * m_b
    theta = (
        2 * v_a * v_b
        - 2 * s_a * s_b * s_ab
        + 0.5 * m_a**2 * v_b
        + 0.5 * m_b**2 * v_a
        - (m_a * m_b) / (2 * s_a * s_b) * (s_ab**2 + v_a * v_b)
    ) / t
    z = numerator / math.sqrt(theta)
    p = math.erfc(abs(z) / math.sqrt(2))  # 2 * (1 - Phi(|z|))

    result = sharpe_difference_test(A, B)
    assert result.statistic == pytest.approx(z, rel=1e-9)
    assert result.p_value == pytest.approx(p, rel=1e-9)
    assert result.statistic == pytest.approx(1.08278, abs=1e-5)  # the same, as a number
    assert result.p_value == pytest.approx(0.27891, abs=1e-5)
    assert result.observations == t
    assert "Memmel" in result.method


def test_sharpe_difference_test_is_symmetric() -> None:
    for a, b in [(A, B), _correlated(500, 3)]:
        forward = sharpe_difference_test(a, b)
        backward = sharpe_difference_test(b, a)
        assert backward.statistic == pytest.approx(-forward.statistic, rel=1e-12)
        assert backward.p_value == pytest.approx(forward.p_value, rel=1e-12)


def test_a_real_difference_is_significant_and_signed() -> None:
    better, worse = _correlated(2500, 4)
    t = paired_t_test(better, worse)
    sharpe = sharpe_difference_test(better, worse)
    assert t.statistic > 0 and t.significant()
    assert sharpe.statistic > 0 and sharpe.significant()
    assert sharpe_difference_test(worse, better).statistic < 0


@pytest.mark.parametrize("test", [paired_t_test, sharpe_difference_test])
def test_identical_series_give_p_one(test: object) -> None:
    assert callable(test)
    result = test(A, list(A))
    assert result == SignificanceTest(0.0, 1.0, len(A), result.method)
    assert not result.significant()


@pytest.mark.parametrize("test", [paired_t_test, sharpe_difference_test])
def test_bad_inputs_are_value_errors(test: object) -> None:
    assert callable(test)
    with pytest.raises(ValueError, match="not aligned: 10 and 9"):
        test(A, B[:-1])
    with pytest.raises(ValueError, match="2 observations: need at least 3"):
        test(A[:2], B[:2])
    with pytest.raises(ValueError, match="NaN"):
        test([*A[:-1], math.nan], B)


def test_a_constant_series_has_no_sharpe_ratio_to_test() -> None:
    flat = [0.0] * len(A)
    with pytest.raises(ValueError, match="constant series"):
        sharpe_difference_test(A, flat)
    assert paired_t_test(A, flat).p_value == pytest.approx(stats.ttest_rel(A, flat).pvalue)
