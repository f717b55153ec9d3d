"""The walk-forward's significance statistics: the stitched OOS returns get the PSR against
zero (nothing was selected out of sample), each window's IS search gets the DSR of the
trial it chose (the best of that window's trials)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tradd.research.stats.dsr import deflated_sharpe_ratio, probabilistic_sharpe_ratio
from tradd.research.walkforward import evaluate
from tradd.research.walkforward.evaluate import run_window
from tradd.research.walkforward.overfit import (
    WindowOverfitting,
    per_period_sharpes,
    summary_overfitting,
    window_overfitting,
)

from .test_evaluate import WINDOW, plan

DAYS = 2_265


def oos_series(annual_sharpe: float, days: int = DAYS) -> np.ndarray:
    """Normal-looking daily returns with exactly this annualised Sharpe (ddof=1)."""
    z = np.random.default_rng(11).standard_normal(days)
    z = (z - z.mean()) / z.std(ddof=1)
    sd = 0.01
    return z * sd + annual_sharpe / math.sqrt(252) * sd


def searched_windows(n: int = 4) -> list[WindowOverfitting]:
    """Windows whose IS searches tried 100 parameter sets with a wide Sharpe spread: the
    luck level that deflated the stitched OOS to about 0.01 before."""
    return [WindowOverfitting(note="no PBO", trial_sharpe_variance=1e-3, distinct_trials=100)] * n


def test_oos_sharpe_half_over_2265_days_is_reported_as_psr_093_not_dsr_001() -> None:
    daily = oos_series(0.50)
    old = deflated_sharpe_ratio(daily, n_trials=100, trial_sharpe_variance=1e-3)
    assert old.dsr < 0.02  # what the summary used to report
    section = summary_overfitting(searched_windows(), daily)
    psr = section["oos_psr"]
    assert psr["psr"] == pytest.approx(0.93, abs=0.01)
    sharpe = daily.mean() / daily.std(ddof=1)
    expected = probabilistic_sharpe_ratio(sharpe, 0.0, DAYS, psr["skew"], psr["kurtosis"])
    assert psr["psr"] == pytest.approx(expected)
    assert psr["sharpe"] == pytest.approx(0.50)
    assert (psr["benchmark_sharpe"], psr["observations"]) == (0.0, DAYS)
    assert "deflated_sharpe" not in section
    text = " ".join(section["warnings"])
    assert "luck" not in text and "Deflated" not in text and "0.01" not in text
    assert "OOS PSR 0.93: OOS Sharpe not reliably above zero" in text


def test_a_significant_oos_sharpe_gives_no_warning_however_many_is_trials() -> None:
    section = summary_overfitting(searched_windows(), oos_series(1.0))
    assert section["oos_psr"]["psr"] > 0.95
    assert section["warnings"] == []


def test_window_dsr_is_the_dsr_of_the_chosen_trials_is_returns() -> None:
    rng = np.random.default_rng(4)
    returns = rng.normal(0.0004, 0.01, (300, 5))
    found = window_overfitting(returns, 0.0001, best=3, periods_per_year=260)
    excess = returns - 0.0001
    variance = float(np.var(per_period_sharpes(excess), ddof=1))
    expected = deflated_sharpe_ratio(
        excess[:, 3], n_trials=5, trial_sharpe_variance=variance, periods_per_year=260
    )
    assert found.dsr == expected
    assert found.dsr_dict() == expected.as_dict()


def test_run_window_deflates_the_trial_its_objective_chose(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An objective that prefers the lowest Sharpe: the trial it chose, not the best-Sharpe
    one, is deflated against the window's four trials."""
    monkeypatch.setattr(evaluate, "objective_value", lambda metrics, _: -metrics["sharpe"])
    p = plan()
    result = run_window(p, WINDOW, lambda: None, lambda: False)
    column = [tuple(s.items()) for s in p.grid_slots].index(tuple(result.best_params.items()))
    returns = result.trial_returns
    sharpes = per_period_sharpes(returns)
    assert column == int(np.argmin(sharpes))
    variance = float(np.var(sharpes, ddof=1))
    expected = deflated_sharpe_ratio(returns[:, column], n_trials=4, trial_sharpe_variance=variance)
    assert result.overfitting.dsr == expected
    assert result.overfitting.dsr.sharpe == pytest.approx(result.is_metrics.sharpe)


def test_windows_dsr_listed_and_warned_by_number() -> None:
    rng = np.random.default_rng(8)
    lucky = window_overfitting(rng.normal(0.0, 0.01, (120, 20)))  # noise: best is luck
    assert lucky.dsr is not None and lucky.dsr.dsr < 0.95
    flat = WindowOverfitting(note="no PBO", dsr_note="DSR not computed: no completed trial")
    section = summary_overfitting([lucky, flat], oos_series(1.0), indices=[3, 4])
    assert [w["window"] for w in section["is_dsr"]] == [3, 4]
    assert section["is_dsr"][0]["dsr"] == lucky.dsr.dsr
    assert section["is_dsr"][1] == {"window": 4, "dsr": None, "note": flat.dsr_note}
    (warning,) = [w for w in section["warnings"] if "luck" in w]
    assert warning.startswith("window 3: IS best not reliably better than luck (DSR ")
    assert "IS DSR computed for 1 of 2 windows" in section["notes"]


def test_several_weak_windows_share_one_warning() -> None:
    rng = np.random.default_rng(8)
    lucky = [window_overfitting(rng.normal(0.0, 0.01, (120, 20))) for _ in range(2)]
    edge = rng.normal(0.0, 0.01, (500, 2))
    edge[:, 0] += 0.004  # a real edge: Sharpe 0.4 a day over 500 days
    strong = window_overfitting(edge)
    assert strong.dsr is not None and strong.dsr.dsr > 0.95
    section = summary_overfitting([lucky[0], strong, lucky[1]], oos_series(1.0))
    (warning,) = [w for w in section["warnings"] if "luck" in w]
    assert warning.startswith("windows 0, 2 (2 of 3): IS best not reliably better than luck")
