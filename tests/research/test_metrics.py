from __future__ import annotations

import math

import numpy as np
import pytest

from tradd.research.engine import ClosedTrade
from tradd.research.metrics import (
    compute_metrics,
    daily_returns,
    max_drawdown_pct,
    sharpe_ratio,
    sortino_ratio,
)
from tradd.research.scoring import composite_score, objective_value


def days(n: int) -> np.ndarray:
    return np.arange("2020-01-01", n, dtype="datetime64[D]").astype("datetime64[s]")


def test_hand_computed_metrics() -> None:
    equity = np.array([110.0, 99.0, 121.0])  # from 100: +10%, -10%, +22.2%
    clock = np.array(["2020-01-01", "2020-01-02", "2021-01-01"], dtype="datetime64[s]")
    trades = [ClosedTrade("X", 12, 10, 2), ClosedTrade("X", -3, -5, 1), ClosedTrade("X", 1, 1, 1)]
    m = compute_metrics(equity, clock, trades, initial_cash=100.0, bars_in_market=2)
    returns = np.array([0.1, -0.1, 121 / 99 - 1])
    assert m.total_return == pytest.approx(21.0)
    assert m.max_drawdown == pytest.approx(10.0)
    assert m.sharpe == pytest.approx(returns.mean() / returns.std(ddof=1) * math.sqrt(252))
    downside = math.sqrt((0.1**2) / 3)
    assert m.sortino == pytest.approx(returns.mean() / downside * math.sqrt(252))
    years = 366 / 365.25
    assert m.cagr == pytest.approx((1.21 ** (1 / years) - 1) * 100)
    assert m.calmar == pytest.approx(m.cagr / 10.0)
    assert m.win_rate == pytest.approx(200 / 3)
    assert m.total_trades == 3
    assert m.profit_factor == pytest.approx(11 / 5)
    assert m.exposure == pytest.approx(200 / 3)


def test_intraday_equity_uses_each_days_last_value() -> None:
    clock = np.array(
        ["2020-01-02T10:00", "2020-01-02T16:00", "2020-01-03T16:00"], dtype="datetime64[s]"
    )
    returns = daily_returns(np.array([90.0, 110.0, 121.0]), clock, 100.0)
    assert returns == pytest.approx([0.1, 0.1])


def test_flat_equity_has_zero_ratios() -> None:
    flat = np.full(10, 100.0)
    m = compute_metrics(flat, days(10), [], initial_cash=100.0, bars_in_market=0)
    assert (m.sharpe, m.sortino, m.calmar, m.max_drawdown, m.win_rate) == (0, 0, 0, 0, 0)
    assert sharpe_ratio(np.array([0.01])) == 0.0
    assert sortino_ratio(np.array([0.01, 0.02])) == 0.0


def test_drawdown_counts_the_initial_cash_as_a_peak() -> None:
    assert max_drawdown_pct(np.array([80.0, 120.0, 60.0]), 100.0) == pytest.approx(50.0)


def test_composite_score_matches_the_spec_formula() -> None:
    def spec(tr: float, sh: float, dd: float, wr: float, n: float) -> float:
        return (
            min(tr / 100, 1) * 30
            + min(sh / 2, 1) * 30
            + max(0, 1 - dd / 50) * 20
            + (wr / 100) * 15
            + min(n / 10, 1) * 5
        )

    for args in [
        (25.0, 1.2, 12.0, 55.0, 8),
        (250.0, 3.0, 80.0, 100.0, 40),
        (-30.0, -0.5, 5.0, 0.0, 0),
    ]:
        assert composite_score(*args) == pytest.approx(spec(*args))
    assert composite_score(100, 2, 0, 100, 10) == pytest.approx(100.0)
    metrics = {
        "total_return": 25.0,
        "sharpe": 1.2,
        "max_drawdown": 12.0,
        "win_rate": 55.0,
        "total_trades": 8,
        "calmar": 0.7,
    }
    assert objective_value(metrics, "composite") == pytest.approx(spec(25.0, 1.2, 12.0, 55.0, 8))
    assert objective_value(metrics, "returns") == 25.0
    with pytest.raises(ValueError, match="unknown objective"):
        objective_value(metrics, "luck")
