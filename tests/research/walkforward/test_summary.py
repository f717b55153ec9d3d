"""Summary formulas against hand-computed values on fabricated window results."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import numpy as np
import pytest

from tradd.research.metrics import Metrics
from tradd.research.walkforward.evaluate import TrialCounts, WindowResult
from tradd.research.walkforward.overfit import WindowOverfitting, window_overfitting
from tradd.research.walkforward.summary import stability, stitch, summarize
from tradd.research.walkforward.windows import Window

from .keys import OVERFITTING_KEYS, SUMMARY_KEYS

CASH = 100.0


def metrics(sharpe: float, total_return: float, cagr: float) -> Metrics:
    return Metrics(
        final_value=CASH * (1 + total_return / 100),
        total_return=total_return,
        cagr=cagr,
        sharpe=sharpe,
        sortino=0.0,
        calmar=0.0,
        volatility=10.0,
        max_drawdown=5.0,
        win_rate=50.0,
        total_trades=2,
        exposure=50.0,
        profit_factor=1.0,
    )


def result(
    index: int,
    is_m: Metrics,
    oos_m: Metrics,
    params: dict[str, Any],
    equity: list[float],
    overfitting: WindowOverfitting | None = None,
) -> WindowResult:
    first = np.datetime64(f"{2021 + index}-01-04T00:00:00")
    clock = first + np.arange(len(equity)) * np.timedelta64(1, "D")
    window = Window(
        index, date(2020, 1, 1), date(2020, 12, 31), date(2021, 1, 1), date(2021, 6, 30)
    )
    return WindowResult(
        window,
        params,
        is_m.sharpe,
        is_m,
        oos_m,
        clock,
        np.asarray(equity, dtype=np.float64),
        TrialCounts(complete=4),
        np.zeros((len(equity), 0)),
        overfitting or WindowOverfitting(note="fabricated"),
    )


def three_windows() -> list[WindowResult]:
    return [
        # given out of order: the summary sorts by window index
        result(2, metrics(0.5, 8.0, 30.0), metrics(0.5, 2.0, 11.0), {"fast": 30}, [100, 102]),
        result(0, metrics(1.5, 9.0, 20.0), metrics(0.5, 10.0, 5.0), {"fast": 10}, [100, 110]),
        result(1, metrics(1.0, 4.0, 10.0), metrics(-0.25, -5.0, -10.0), {"fast": 20}, [100, 95]),
    ]


def test_summary_formulas() -> None:
    s = summarize(three_windows(), ["fast"], CASH)
    assert s.windows == 3
    assert s.avg_is_sharpe == pytest.approx(1.0)  # (1.5 + 1.0 + 0.5) / 3
    assert s.avg_oos_sharpe == pytest.approx(0.25)  # (0.5 - 0.25 + 0.5) / 3
    assert s.avg_degradation == pytest.approx(0.75)  # (1.0 + 1.25 + 0.0) / 3
    assert s.degradation_pct == pytest.approx(75.0)  # (1.0 - 0.25) / 1.0 * 100
    assert s.consistency == pytest.approx(2 / 3)  # +10 %, -5 %, +2 %
    assert s.walk_forward_efficiency == pytest.approx(0.1)  # mean(5, -10, 11) / mean(20, 10, 30)
    fast = s.parameter_stability["fast"]
    assert (fast.mean, fast.std, fast.cv) == pytest.approx((20.0, 10.0, 0.5))  # ddof=1


def test_stitched_curve_chains_windows_multiplicatively() -> None:
    s = summarize(three_windows(), ["fast"], CASH)
    curve = stitch(three_windows(), CASH)
    assert curve.equity.tolist() == pytest.approx([100, 110, 110, 104.5, 104.5, 106.59])
    assert curve.window.tolist() == [0, 0, 1, 1, 2, 2]
    assert s.oos_total_return == pytest.approx(6.59)
    daily = np.array([0.0, 0.1, 0.0, -0.05, 0.0, 0.02])
    expected = daily.mean() / daily.std(ddof=1) * math.sqrt(252)
    assert s.oos_sharpe == pytest.approx(expected)
    assert s.oos_max_drawdown == pytest.approx(5.0)  # 110 -> 104.5


def test_json_keys_of_the_summary() -> None:
    document = summarize(three_windows(), ["fast"], CASH).as_dict()
    assert set(SUMMARY_KEYS) <= set(document)
    assert document["parameter_stability"]["fast"] == pytest.approx(
        {"mean": 20.0, "std": 10.0, "cv": 0.5, "most_common": 10, "most_common_share": 1 / 3}
    )
    overfitting = document["overfitting"]
    assert set(overfitting) >= set(OVERFITTING_KEYS)
    assert overfitting["pbo_mean"] is None  # no window had a PBO
    assert "PBO computed for 0 of 3 windows" in overfitting["notes"]


def test_zero_means_give_zero_or_none() -> None:
    flat = [
        result(0, metrics(0.0, 0.0, 0.0), metrics(0.4, 1.0, 2.0), {"x": 0}, [100, 101]),
        result(1, metrics(0.0, 0.0, 0.0), metrics(-0.2, -1.0, -2.0), {"x": 0}, [100, 99]),
    ]
    s = summarize(flat, ["x"], CASH)
    assert s.degradation_pct == 0.0
    assert s.walk_forward_efficiency is None
    assert s.parameter_stability["x"].cv is None
    assert s.parameter_stability["x"].std == 0.0


def test_efficiency_is_not_reported_over_a_losing_in_sample() -> None:
    # IS -10 %/yr, OOS -20 %/yr: the ratio 2.0 would read as "more than robust"
    losing = [
        result(i, metrics(0.5, -5.0, -10.0), metrics(-0.5, -10.0, -20.0), {"x": 1}, [100, 90])
        for i in range(2)
    ]
    assert summarize(losing, ["x"], CASH).walk_forward_efficiency is None
    mixed = [
        result(0, metrics(1.0, 5.0, 10.0), metrics(0.5, 2.0, 4.0), {"x": 1}, [100, 102]),
        result(1, metrics(0.5, -15.0, -30.0), metrics(0.1, 1.0, 2.0), {"x": 1}, [100, 101]),
    ]
    assert summarize(mixed, ["x"], CASH).walk_forward_efficiency is None  # IS mean -10
    mixed[1] = result(1, metrics(0.5, -2.0, -4.0), metrics(0.1, 1.0, 2.0), {"x": 1}, [100, 101])
    efficiency = summarize(mixed, ["x"], CASH).walk_forward_efficiency
    assert efficiency == pytest.approx(3.0 / 3.0)  # mean(4, 2) / mean(10, -4)


def test_stability_of_single_and_non_numeric_values() -> None:
    assert stability([7]) == stability([7.0])
    single = stability([7])
    assert (single.mean, single.std, single.cv) == (7.0, 0.0, 0.0)
    assert (single.most_common, single.most_common_share) == (7, 1.0)
    words = stability(["a", "b", "b"])
    assert (words.mean, words.std, words.cv) == (None, None, None)
    assert (words.most_common, words.most_common_share) == ("b", pytest.approx(2 / 3))
    flags = stability([True, False, False, True])
    assert flags.mean is None
    assert (flags.most_common, flags.most_common_share) == (True, 0.5)  # tie: earliest


def test_non_numeric_parameters_keep_their_stability_in_the_json() -> None:
    windows = [
        result(i, metrics(1.0, 5.0, 5.0), metrics(0.5, 1.0, 1.0), {"mode": m}, [100, 101])
        for i, m in enumerate(["ema", "sma", "ema"])
    ]
    document = summarize(windows, ["mode"], CASH).as_dict()
    assert document["parameter_stability"]["mode"] == {
        "mean": None,
        "std": None,
        "cv": None,
        "most_common": "ema",
        "most_common_share": pytest.approx(2 / 3),
    }


def test_pbo_mean_is_the_mean_of_the_windows() -> None:
    rng = np.random.default_rng(5)
    overfits = [window_overfitting(rng.normal(0, 0.01, (64, 6))) for _ in range(2)]
    assert all(o.pbo is not None for o in overfits)
    windows = [
        result(i, metrics(1.0, 5.0, 5.0), metrics(0.5, 1.0, 1.0), {"x": 1}, eq, o)
        for i, (eq, o) in enumerate(zip([[100, 101, 99], [100, 102, 103]], overfits, strict=True))
    ]
    overfitting = summarize(windows, ["x"], CASH).overfitting
    pbos = [o.pbo.pbo for o in overfits if o.pbo is not None]
    assert overfitting["pbo_mean"] == pytest.approx(np.mean(pbos))
    assert overfitting["pbo_windows"] == 2
    assert [w["n_trials"] for w in overfitting["is_dsr"]] == [6, 6]


def test_window_overfitting_variance_and_notes() -> None:
    rng = np.random.default_rng(1)
    returns = rng.normal(0.0005, 0.01, (80, 4))
    result_ = window_overfitting(returns)
    sharpes = returns.mean(axis=0) / returns.std(axis=0, ddof=1)
    assert result_.trial_sharpe_variance == pytest.approx(np.var(sharpes, ddof=1))
    assert result_.distinct_trials == 4
    single = window_overfitting(returns[:, :1])
    assert single.pbo is None and "at least 2 trials" in single.note
    assert single.as_dict() == {"pbo": None, "note": single.note}
    short = window_overfitting(returns[:20])
    assert short.pbo is None and "periods" in short.note
