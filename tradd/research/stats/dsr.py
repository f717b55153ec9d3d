"""The Deflated Sharpe Ratio (Bailey and Lopez de Prado, 2014, "The Deflated Sharpe Ratio:
Correcting for Selection Bias, Backtest Overfitting and Non-Normality").

An optimization reports the best of many Sharpe ratios, and the best of N noisy estimates is
high even when every strategy is worthless. The DSR is the Probabilistic Sharpe Ratio (the
probability that the true Sharpe exceeds a benchmark, allowing for the sample length and
for skewed, fat-tailed returns) with the benchmark raised to SR0, the Sharpe the best of
`n_trials` skill-less trials is expected to reach by luck alone.

Conventions: the formulas work per period (per day for daily returns); the results report
annualised Sharpe ratios as tradd does elsewhere. Skewness and kurtosis are the sample's
population moments (the paper's gamma_3 and gamma_4); kurtosis is not excess (normal = 3).
The normal distribution comes from the standard library, so this needs only numpy.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

EULER_MASCHERONI = 0.5772156649015329
MIN_OBSERVATIONS = 3
"""Fewer returns give no usable skewness, and a Sharpe ratio that means nothing."""
MIN_STD = 1e-12
"""Below this the returns are flat (the metrics' convention) and a Sharpe ratio is undefined."""

_NORMAL = NormalDist()


@dataclass(frozen=True)
class DeflatedSharpe:
    sharpe: float
    """Annualised observed Sharpe of the selected returns."""
    expected_max_sharpe: float
    """Annualised SR0, the best Sharpe expected from luck alone."""
    n_trials: int
    observations: int
    skew: float
    kurtosis: float
    """Not excess: normal = 3."""
    dsr: float
    """Probability in [0, 1] that the true Sharpe > 0 after deflation."""

    def as_dict(self) -> dict[str, float]:
        return asdict(self)  # n_trials and observations stay ints in JSON


def probabilistic_sharpe_ratio(
    sharpe_per_period: float,
    benchmark_per_period: float,
    observations: int,
    skew: float,
    kurtosis: float,
) -> float:
    """P(true Sharpe > benchmark) given an observed Sharpe (Bailey and Lopez de Prado 2012).

    PSR = Phi((SR - SR*) * sqrt(T - 1) / sqrt(1 - skew * SR + (kurtosis - 1) / 4 * SR^2)):
    negative skew and fat tails widen the Sharpe's standard error, so they lower the PSR.
    """
    if observations < 2:
        raise ValueError(f"PSR needs at least 2 observations, got {observations}")
    variance = 1.0 - skew * sharpe_per_period + (kurtosis - 1.0) / 4.0 * sharpe_per_period**2
    if not variance > 0.0:  # also catches NaN; real samples always have kurtosis >= 1 + skew^2
        raise ValueError(
            f"skew {skew} and kurtosis {kurtosis} are inconsistent with Sharpe "
            f"{sharpe_per_period}: the Sharpe's variance would be {variance}"
        )
    z = (sharpe_per_period - benchmark_per_period) * math.sqrt(observations - 1)
    return _NORMAL.cdf(z / math.sqrt(variance))


def expected_max_sharpe(n_trials: int, variance_per_period: float) -> float:
    """SR0: the expected maximum per-period Sharpe of `n_trials` trials with no skill.

    The trials' Sharpe ratios are taken as normal with mean 0 and the given variance; the
    expected maximum of N standard normals is approximated, as in the paper, by
    (1 - g) * Phi^-1(1 - 1/N) + g * Phi^-1(1 - 1/(N e)), g the Euler-Mascheroni constant.
    One trial has nothing to select from: SR0 = 0.
    """
    if n_trials < 1:
        raise ValueError(f"n_trials must be at least 1, got {n_trials}")
    if not variance_per_period >= 0.0:
        raise ValueError(f"the trials' Sharpe variance must be >= 0, got {variance_per_period}")
    if n_trials == 1:
        return 0.0
    z = (1.0 - EULER_MASCHERONI) * _NORMAL.inv_cdf(1.0 - 1.0 / n_trials)
    z += EULER_MASCHERONI * _NORMAL.inv_cdf(1.0 - 1.0 / (n_trials * math.e))
    return math.sqrt(variance_per_period) * z


def deflated_sharpe_ratio(
    returns: npt.NDArray[np.float64],
    *,
    n_trials: int,
    trial_sharpe_variance: float,
    periods_per_year: float = 252,
) -> DeflatedSharpe:
    """The DSR of the selected trial's per-period `returns` (excess returns, if there is a
    risk-free rate).

    `n_trials` is how many configurations were tried (the selection's breadth) and
    `trial_sharpe_variance` the variance across them of their per-period Sharpe ratios: both
    set how high luck alone reaches. The Sharpe uses the sample standard deviation (ddof=1),
    as tradd's metrics do.
    """
    series, sharpe, skew, kurtosis = _moments(returns, "the Deflated Sharpe Ratio")
    sr0 = expected_max_sharpe(n_trials, trial_sharpe_variance)
    dsr = probabilistic_sharpe_ratio(sharpe, sr0, len(series), skew, kurtosis)
    scale = math.sqrt(periods_per_year)
    return DeflatedSharpe(
        sharpe=sharpe * scale,
        expected_max_sharpe=sr0 * scale,
        n_trials=n_trials,
        observations=len(series),
        skew=skew,
        kurtosis=kurtosis,
        dsr=dsr,
    )


@dataclass(frozen=True)
class ProbabilisticSharpe:
    """The PSR of one series against a fixed benchmark (no selection to deflate for)."""

    psr: float
    """Probability in [0, 1] that the true Sharpe > `benchmark_sharpe`."""
    sharpe: float
    """Annualised observed Sharpe."""
    benchmark_sharpe: float
    """Annualised."""
    observations: int
    skew: float
    kurtosis: float
    """Not excess: normal = 3."""

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def probabilistic_sharpe(
    returns: npt.NDArray[np.float64],
    *,
    periods_per_year: float = 252,
    benchmark_sharpe: float = 0.0,
) -> ProbabilisticSharpe:
    """The PSR of per-period (excess) `returns` against an annualised benchmark Sharpe: for
    returns that were not picked as the best of several (a walk-forward's stitched OOS)."""
    series, sharpe, skew, kurtosis = _moments(returns, "the Probabilistic Sharpe Ratio")
    scale = math.sqrt(periods_per_year)
    psr = probabilistic_sharpe_ratio(sharpe, benchmark_sharpe / scale, len(series), skew, kurtosis)
    return ProbabilisticSharpe(psr, sharpe * scale, benchmark_sharpe, len(series), skew, kurtosis)


def _moments(
    returns: npt.NDArray[np.float64], what: str
) -> tuple[npt.NDArray[np.float64], float, float, float]:
    """The series checked, its per-period Sharpe (ddof=1), skew and kurtosis (population)."""
    series = np.asarray(returns, dtype=np.float64)
    if series.ndim != 1 or len(series) < MIN_OBSERVATIONS:
        raise ValueError(
            f"{what} needs a 1-D series of at least {MIN_OBSERVATIONS} "
            f"returns, got shape {series.shape}"
        )
    if not np.isfinite(series).all():
        raise ValueError("the returns contain NaN or infinite values")
    std = float(series.std(ddof=1))
    if std <= MIN_STD:
        raise ValueError("the returns do not vary (zero standard deviation): no Sharpe ratio")
    sharpe = float(series.mean()) / std
    deviations = (series - series.mean()) / float(series.std())
    return series, sharpe, float(np.mean(deviations**3)), float(np.mean(deviations**4))
