"""What a scan offers --execute: its picks with their metrics, and whether it is too old."""

from __future__ import annotations

from datetime import date

import pytest

from tradd.errors import UsageError
from tradd.research.scan.candidates import (
    Candidate,
    candidates_from_summary,
    check_fresh,
    ineligible,
    period_end,
)
from tradd.research.scan.gate import Gate

SMA = "strategies.sma_cross.SmaCross"
BEST = {"strategy": SMA, "composite_score": 41.5, "total_return": 3.2, "sharpe": 0.9,
        "max_drawdown": 4.0, "win_rate": 60.0, "total_trades": 5, "params": {}}  # fmt: skip


def test_a_stored_scan_gives_its_best_per_symbol_or_the_subset_asked_for() -> None:
    summary = {"period": {"start": "2026-01-01", "end": "2026-03-02"}, "bar": "1d",
               "best": {"GOOG": BEST, "NOPE": None}}  # fmt: skip
    goog = Candidate("GOOG", SMA, 41.5, 3.2, 0.9, 5, {}, "1d")
    assert candidates_from_summary(summary, None) == [goog, Candidate("NOPE", None, None)]
    assert candidates_from_summary(summary, ["GOOG"]) == [goog]
    assert ineligible(goog, 0.0) is None and period_end(summary) == date(2026, 3, 2)
    with pytest.raises(UsageError, match="--symbols ORCL: not in that scan"):
        candidates_from_summary(summary, ["ORCL", "GOOG"])


def test_an_older_summary_without_the_metrics_is_read_but_not_eligible() -> None:
    old = {"best": {"GOOG": {"strategy": SMA, "composite_score": 41.5}}}
    (goog,) = candidates_from_summary(old, None, bar="1h")  # the bar from the run's request
    assert (goog.score, goog.total_return, goog.bar, dict(goog.params)) == (41.5, None, "1h", {})
    assert "recorded no total_return, sharpe, total_trades" in str(ineligible(goog, 0.0))
    assert period_end(old) is None


def test_a_scan_is_fresh_up_to_max_age_days_before_today() -> None:
    end = date(2026, 3, 2)
    check_fresh(end, date(2026, 3, 9), 7, allow_stale=False)  # 7 days: still fresh
    with pytest.raises(UsageError) as refused:
        check_fresh(end, date(2026, 3, 10), 7, allow_stale=False)
    message = str(refused.value)
    assert "the scan's period ended 2026-03-02, 8 days before today (2026-03-10)" in message
    assert "more than --max-age-days 7" in message and "--allow-stale" in message
    assert "rehearsal on the simulator" in message
    check_fresh(end, date(2027, 1, 1), 7, allow_stale=True)
    with pytest.raises(UsageError, match="no recorded period end"):
        check_fresh(None, date(2026, 3, 3), 7, allow_stale=False)


def test_the_gate_checks_its_options_and_measures_age_on_its_clock() -> None:
    gate = Gate.from_options(None, None, None, False, False, lambda: date(2026, 3, 5))
    assert (gate.min_score, gate.max_total_pct, gate.max_age_days) == (0.0, 100.0, 7)
    gate.check_fresh(date(2026, 3, 1))
    strict = Gate.from_options(30.0, 50.0, 2, False, True, lambda: date(2026, 3, 5))
    with pytest.raises(UsageError, match="--max-age-days 2"):
        strict.check_fresh(date(2026, 3, 1))
    policy = strict.policy(5.0)
    assert (policy.position_pct, policy.min_score, policy.max_total_pct, policy.any_setup) == (
        5.0, 30.0, 50.0, True,
    )  # fmt: skip
    for bad, says in (((101.0, None, None), "--min-score 101: must be from 0 to 100"),
                      ((None, 0.0, None), "--max-total-pct 0: must be more than 0"),
                      ((None, None, -1), "--max-age-days -1: must be 0 or more")):  # fmt: skip
        with pytest.raises(UsageError, match=says):
            Gate.from_options(*bad, False, False, date.today)
