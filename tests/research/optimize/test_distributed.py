"""Several `tradd optimize` processes sharing one study: every trial runs exactly once."""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from tradd.research.optimize.storage import parse_storage

from ...conftest import SAMPLE_DATA, SpawnCli

SMA = "strategies.sma_cross.SmaCross"


def run_together(
    spawn_cli: SpawnCli, tmp_path: Path, storage: str, study: str, extra: list[str]
) -> list[dict]:  # type: ignore[type-arg]
    processes = [
        spawn_cli(
            "optimize",
            "--strategy",
            SMA,
            "--symbols",
            "GOOG",
            "--start",
            "2006-01-01",
            "--end",
            "2010-12-31",
            "--data-dir",
            str(SAMPLE_DATA),
            "--storage",
            storage,
            "--study",
            study,
            "--workers",
            "1",
            # Every trial in Backtrader: what is shared here is the claiming of trials
            # (a kernel's screen would leave only its best 20 to share).
            "--no-kernel",
            "--output",
            str(tmp_path / name),
            *extra,
        )
        for name in ("a", "b")
    ]
    reports = []
    for name, process in zip(("a", "b"), processes, strict=True):
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr
        reports.append(json.loads((tmp_path / name / "optimization.json").read_text()))
    return reports


def assert_each_trial_once(storage: str, study: str, expected: int, reports: list[dict]) -> None:  # type: ignore[type-arg]
    loaded = optuna.load_study(study_name=study, storage=parse_storage(storage, Path()).open())
    trials = loaded.get_trials(deepcopy=False)
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert len(complete) == expected
    assert not [t for t in trials if t.state in (TrialState.WAITING, TrialState.RUNNING)]
    assert sum(r["trials_run_by_this_process"] for r in reports) == expected
    assert reports[0]["optimization_id"] == reports[1]["optimization_id"]
    assert all(r["trials"] == expected for r in reports)
    # Each trial's daily returns travel through the storage: both see the same statistics.
    assert reports[0]["overfitting"] == reports[1]["overfitting"]
    assert reports[0]["overfitting"]["notes"] == [] and reports[0]["overfitting"]["pbo"]


GRID = ["--method", "grid", "--param", "fast=5:40:5", "--param", "slow=20:60:10"]
GRID_SIZE = sum(1 for f in range(5, 41, 5) for s in range(20, 61, 10) if f < s)


def grid_params(storage: str, study: str) -> list[tuple[int, int]]:
    loaded = optuna.load_study(study_name=study, storage=parse_storage(storage, Path()).open())
    return [
        (t.params["fast"], t.params["slow"])
        for t in loaded.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    ]


def test_grid_shared_through_a_journal_file(spawn_cli: SpawnCli, tmp_path: Path) -> None:
    storage = str(tmp_path / "shared.journal")
    reports = run_together(spawn_cli, tmp_path, storage, "shared-grid", GRID)
    assert_each_trial_once(storage, "shared-grid", GRID_SIZE, reports)
    params = grid_params(storage, "shared-grid")
    assert len(set(params)) == len(params) == GRID_SIZE


def test_bayesian_shared_through_a_journal_file(spawn_cli: SpawnCli, tmp_path: Path) -> None:
    storage = f"journal:{tmp_path / 'bayes.journal'}"
    extra = [
        "--method",
        "bayesian",
        "--trials",
        "16",
        "--param",
        "fast=5:30:1",
        "--param",
        "slow=40:120:5",
    ]
    reports = run_together(spawn_cli, tmp_path, storage, "shared-bayes", extra)
    assert_each_trial_once(storage, "shared-bayes", 16, reports)


@pytest.mark.postgres
@pytest.mark.xdist_group("postgres")
def test_grid_shared_through_postgresql(
    spawn_cli: SpawnCli, tmp_path: Path, postgres_url: str
) -> None:
    study = f"pg-grid-{tmp_path.name}"
    reports = run_together(spawn_cli, tmp_path, postgres_url, study, GRID)
    assert_each_trial_once(postgres_url, study, GRID_SIZE, reports)
    params = grid_params(postgres_url, study)
    assert len(set(params)) == len(params) == GRID_SIZE
    assert all("postgresql" in r["storage"] for r in reports)


@pytest.mark.postgres
@pytest.mark.xdist_group("postgres")
def test_bayesian_shared_through_postgresql(
    spawn_cli: SpawnCli, tmp_path: Path, postgres_url: str
) -> None:
    study = f"pg-bayes-{tmp_path.name}"
    extra = [
        "--method",
        "bayesian",
        "--trials",
        "12",
        "--param",
        "fast=5:30:1",
        "--param",
        "slow=40:120:5",
    ]
    reports = run_together(spawn_cli, tmp_path, postgres_url, study, extra)
    assert_each_trial_once(postgres_url, study, 12, reports)


def test_joining_with_different_settings_is_refused(tmp_path: Path) -> None:
    from tradd.errors import UsageError
    from tradd.research.optimize.study import StudySpec, open_study

    storage = parse_storage(str(tmp_path / "s.journal"), tmp_path).open()
    spec = StudySpec(
        "s.S", ("GOOG",), "", "", "1d", "grid", "sharpe", (("fast", "int", (1, 2)),), ()
    )
    sampler = optuna.samplers.RandomSampler()
    open_study(storage, "x", spec, [{"fast": 1}, {"fast": 2}], 0, sampler)
    other = StudySpec("s.S", ("ORCL",), "", "", "1d", "grid", "sharpe", spec.space, ())
    with pytest.raises(UsageError, match="created with different symbols"):
        open_study(storage, "x", other, [], 0, sampler)
