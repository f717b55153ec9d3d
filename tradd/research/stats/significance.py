"""Is one strategy really better than another, or is the difference luck?

Both tests take two aligned series of daily returns (same days, same order), as
`tradd compare` produces by running every strategy on the same bars:

- `paired_t_test`: does the mean daily return differ? A t-test on the day-by-day
  differences (pairing removes the market moves both strategies share); it equals
  `scipy.stats.ttest_rel`.
- `sharpe_difference_test`: do the Sharpe ratios differ? Jobson and Korkie's (1981) z-test
  with Memmel's (2003) corrected variance. A higher mean can come with more risk; this
  asks about return per unit of risk, which is what the ranking uses.

Both are two-sided. Identical series give statistic 0 and p = 1 (no evidence of any
difference) instead of the 0/0 the formulas would produce.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

# scipy.special, not scipy.stats: the latter costs seconds to import. No stubs: untyped.
from scipy.special import stdtr  # type: ignore[import-untyped]

MIN_OBSERVATIONS = 3
PAIRED_T = "paired t-test on daily returns"
SHARPE_DIFFERENCE = "Jobson-Korkie test of Sharpe ratios, Memmel (2003) correction"

Series = Sequence[float] | npt.NDArray[np.float64]


@dataclass(frozen=True)
class SignificanceTest:
    """One test's outcome. `statistic` is signed: positive when `a` is the better one."""

    statistic: float
    p_value: float
    observations: int
    method: str

    def significant(self, alpha: float = 0.05) -> bool:
        return self.p_value < alpha


def paired_t_test(a: Series, b: Series) -> SignificanceTest:
    """t = mean(d) / (std(d) / sqrt(n)) with d = a - b and n - 1 degrees of freedom."""
    x, y = _aligned(a, b)
    n = len(x)
    if np.array_equal(x, y):
        return SignificanceTest(0.0, 1.0, n, PAIRED_T)
    d = x - y
    mean = float(d.mean())
    std = float(d.std(ddof=1))
    if std == 0.0:  # a constant, non-zero difference: certain, whatever n is
        return SignificanceTest(math.copysign(math.inf, mean), 0.0, n, PAIRED_T)
    t = mean / (std / math.sqrt(n))
    p = float(2.0 * stdtr(n - 1, -abs(t)))
    return SignificanceTest(t, p, n, PAIRED_T)


def sharpe_difference_test(a: Series, b: Series) -> SignificanceTest:
    """z = (s_b m_a - s_a m_b) / sqrt(theta), asymptotically standard normal, with

    theta = (2 s_a^2 s_b^2 - 2 s_a s_b s_ab + m_a^2 s_b^2 / 2 + m_b^2 s_a^2 / 2
             - m_a m_b / (2 s_a s_b) * (s_ab^2 + s_a^2 s_b^2)) / T

    (m: means, s: standard deviations, s_ab: covariance, all sample estimates with
    ddof=1, T: observations). Pass excess returns if the Sharpe ratios subtract a
    risk-free rate. A constant series has no Sharpe ratio: ValueError.
    """
    x, y = _aligned(a, b)
    n = len(x)
    if np.array_equal(x, y):
        return SignificanceTest(0.0, 1.0, n, SHARPE_DIFFERENCE)
    m_a, m_b = float(x.mean()), float(y.mean())
    cov = np.cov(x, y, ddof=1)
    s_a, s_b, s_ab = math.sqrt(cov[0, 0]), math.sqrt(cov[1, 1]), float(cov[0, 1])
    if s_a == 0.0 or s_b == 0.0:
        raise ValueError("a constant series has no Sharpe ratio to compare")
    theta = (
        2 * s_a**2 * s_b**2
        - 2 * s_a * s_b * s_ab
        + 0.5 * m_a**2 * s_b**2
        + 0.5 * m_b**2 * s_a**2
        - m_a * m_b / (2 * s_a * s_b) * (s_ab**2 + s_a**2 * s_b**2)
    ) / n
    if theta <= 0.0:  # only when perfectly correlated with equal Sharpe ratios
        return SignificanceTest(0.0, 1.0, n, SHARPE_DIFFERENCE)
    z = (s_b * m_a - s_a * m_b) / math.sqrt(theta)
    p = math.erfc(abs(z) / math.sqrt(2.0))  # two-sided normal tail
    return SignificanceTest(z, p, n, SHARPE_DIFFERENCE)


def _aligned(a: Series, b: Series) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if x.ndim != 1 or y.ndim != 1:
        raise ValueError("daily returns must be one-dimensional series")
    if len(x) != len(y):
        raise ValueError(f"series are not aligned: {len(x)} and {len(y)} observations")
    if len(x) < MIN_OBSERVATIONS:
        raise ValueError(f"{len(x)} observations: need at least {MIN_OBSERVATIONS}")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("series contain NaN or infinite values")
    return x, y
