"""Overfitting statistics of an optimization: stored returns, the report section, the CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pytest
from optuna.trial import FrozenTrial, TrialState

from tradd.research.metrics import sharpe_ratio
from tradd.research.optimize.overfitting import (
    RETURNS_ATTR,
    assess,
    decode_returns,
    encode_returns,
)
from tradd.research.optimize.storage import parse_storage
from tradd.research.stats.dsr import deflated_sharpe_ratio
from tradd.research.stats.pbo import probability_of_backtest_overfitting
from tradd.research.stats.warnings import overfitting_warnings

from ...conftest import SAMPLE_DATA, RunCli


def noise(days: int = 200, edge: float = 0.0, seed: int = 0) -> np.ndarray:  # type: ignore[type-arg]
    """Daily returns as they come back from the storage (float32 precision)."""
    rng = np.random.default_rng(seed)
    return rng.normal(edge, 0.01, days).astype(np.float32).astype(np.float64)


def trial(number: int, returns: Any = None, **attrs: Any) -> FrozenTrial:
    user_attrs = dict(attrs)
    if returns is not None:
        user_attrs[RETURNS_ATTR] = encode_returns(returns)
    frozen = optuna.trial.create_trial(
        state=TrialState.COMPLETE, value=float(number), user_attrs=user_attrs
    )
    frozen.number = number
    return frozen


def test_returns_round_trip_as_float32() -> None:
    returns = np.random.default_rng(1).normal(0, 0.01, 500)
    stored = encode_returns(returns)
    assert stored["encoding"] == "base64:float32-le" and stored["days"] == 500
    assert len(stored["data"]) == math.ceil(500 * 4 / 3) * 4  # base64 of 2000 bytes
    decoded = decode_returns(json.loads(json.dumps(stored)))
    assert decoded.dtype == np.float64
    np.testing.assert_allclose(decoded, returns, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("AAAA", "not base64:float32-le"),
        ({"encoding": "base64:float32-le", "days": 2, "data": "AAAA"}, "do not hold 2"),
        ({"encoding": "base64:float32-le", "days": 1, "data": "A$AA"}, "bad base64"),
    ],
)
def test_malformed_returns_are_refused(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        decode_returns(value)


def test_assess_computes_both_and_skips_bayesian_repeats() -> None:
    series = [noise(edge=0.001 * i, seed=i) for i in range(4)]
    trials = [trial(i, r) for i, r in enumerate(series)]
    trials.append(trial(4, duplicate_of=3))  # a repeat: no returns of its own, not a trial
    report = assess(trials, best_trial=4, risk_free_rate=0.0252)
    excess = [r - 0.0252 / 252 for r in series]
    per_period = [sharpe_ratio(r, 0.0252) / math.sqrt(252) for r in series]
    expected = deflated_sharpe_ratio(
        excess[3], n_trials=4, trial_sharpe_variance=float(np.var(per_period, ddof=1))
    )
    assert report.trials == 4 and report.best_trial == 3
    assert report.deflated_sharpe == expected
    assert report.pbo == probability_of_backtest_overfitting(np.column_stack(excess))
    assert report.warnings == tuple(overfitting_warnings(expected, report.pbo))
    assert report.notes == ()
    section = report.as_dict()
    assert section["deflated_sharpe"] == expected.as_dict()
    assert section["pbo"]["pbo"] == report.pbo.pbo  # type: ignore[union-attr]


def test_one_trial_has_a_dsr_against_zero_and_no_pbo() -> None:
    report = assess([trial(0, noise())], best_trial=0, risk_free_rate=0.0)
    assert report.deflated_sharpe is not None
    assert report.deflated_sharpe.expected_max_sharpe == 0.0
    assert report.pbo is None
    assert report.notes == ("no PBO: it needs at least 2 complete trials to choose between",)


def test_missing_returns_leave_a_note_not_a_partial_answer() -> None:
    report = assess([trial(0, noise()), trial(1)], best_trial=0, risk_free_rate=0.0)
    assert report.deflated_sharpe is None and report.pbo is None
    (note,) = report.notes
    assert "1 of 2 complete trials have no usable stored daily returns" in note
    assert "trial 1: none" in note


def test_different_lengths_keep_the_dsr() -> None:
    report = assess([trial(0, noise(200)), trial(1, noise(150, seed=1))], 0, 0.0)
    assert report.deflated_sharpe is not None and report.pbo is None
    assert "differ in length ([150, 200])" in report.notes[0]


def test_too_few_days_and_a_flat_best_trial() -> None:
    report = assess([trial(0, np.zeros(20)), trial(1, noise(20))], 0, 0.0)
    assert report.deflated_sharpe is None and report.pbo is None
    assert report.notes == (
        "no Deflated Sharpe for the best trial (0): the returns do not vary (zero standard "
        "deviation): no Sharpe ratio",
        "no PBO: PBO with 16 blocks needs at least 32 periods (2 per block), got 20",
    )


def test_nothing_complete() -> None:
    report = assess([], None, 0.0)
    assert report.notes == ("no trial completed: nothing to assess",)
    assert report.headline() == "overfitting: not computed"


def test_optimize_writes_the_overfitting_section(run_cli: RunCli, tmp_path: Path) -> None:
    out = tmp_path / "grid"
    result = run_cli(
        "optimize",
        "--strategy",
        "strategies.sma_cross.SmaCross",
        "--symbols",
        "GOOG",
        "--start",
        "2007-01-01",
        "--end",
        "2008-12-31",
        "--data-dir",
        str(SAMPLE_DATA),
        "--param",
        "fast=5,10",
        "--param",
        "slow=20,30,40",
        "--workers",
        "2",
        "--output",
        str(out),
    )
    assert result.code == 0, result.stderr
    report = json.loads((out / "optimization.json").read_text())
    section = report["overfitting"]
    assert section["trials"] == 6 and section["notes"] == []
    assert 0.0 <= section["deflated_sharpe"]["dsr"] <= 1.0
    assert 0.0 <= section["pbo"]["pbo"] <= 1.0
    assert section["best_trial"] == report["top_10_results"][0]["trial"]

    storage = parse_storage(str(out / "study.journal"), out).open()
    name = optuna.get_all_study_summaries(storage)[0].study_name
    trials = optuna.load_study(study_name=name, storage=storage).get_trials(
        states=(TrialState.COMPLETE,)
    )
    returns = {t.number: decode_returns(t.user_attrs[RETURNS_ATTR]) for t in trials}
    assert len({len(r) for r in returns.values()}) == 1 and len(returns[0]) > 400
    for t in trials:  # the stored returns are the ones the metrics came from
        assert sharpe_ratio(returns[t.number]) == pytest.approx(t.user_attrs["metrics"]["sharpe"])
    per_period = [sharpe_ratio(r) / math.sqrt(252) for r in returns.values()]
    dsr = deflated_sharpe_ratio(
        returns[section["best_trial"]],
        n_trials=6,
        trial_sharpe_variance=float(np.var(per_period, ddof=1)),
    )
    pbo = probability_of_backtest_overfitting(np.column_stack(list(returns.values())))
    assert section["deflated_sharpe"] == pytest.approx(dsr.as_dict())
    expected_pbo = pbo.as_dict()
    assert section["pbo"]["logit_quartiles"] == pytest.approx(expected_pbo.pop("logit_quartiles"))
    assert {k: section["pbo"][k] for k in expected_pbo} == pytest.approx(expected_pbo)
    assert section["warnings"] == overfitting_warnings(dsr, pbo)
    assert section["deflated_sharpe"]["sharpe"] == pytest.approx(report["best_metrics"]["sharpe"])
    assert f"overfitting: Deflated Sharpe {dsr.dsr:.2f}" in result.stdout
    assert f"PBO {pbo.pbo:.0%} over 12870 splits" in result.stdout
    for warning in section["warnings"]:
        assert warning in result.stdout
