from __future__ import annotations

import csv
import itertools
import json
import signal
import time
import tomllib
from pathlib import Path

import optuna
from optuna.trial import TrialState

from tradd.research.optimize.storage import parse_storage

from ...conftest import ROOT, SAMPLE_DATA, RunCli, SpawnCli
from ..conftest import Tradd

SMA = "strategies.sma_cross.SmaCross"
COMMON = [
    "--symbols",
    "GOOG",
    "--start",
    "2006-01-01",
    "--end",
    "2009-12-31",
    "--data-dir",
    str(SAMPLE_DATA),
]


def read_json(path: Path) -> dict:  # type: ignore[type-arg]
    return json.loads(path.read_text())


def test_grid_writes_every_output(tradd: Tradd, tmp_path: Path) -> None:
    out = tmp_path / "grid"
    code, stdout, stderr = tradd(
        "optimize",
        "--strategy",
        SMA,
        *COMMON,
        "--method",
        "grid",
        "--param",
        "fast=5:20:5",
        "--param",
        "slow=10:40:10",
        "--output",
        str(out),
    )
    assert code == 0, stderr
    report = read_json(out / "optimization.json")
    for key in (
        "optimization_id",
        "strategy",
        "method",
        "trials",
        "best_params",
        "best_metrics",
        "top_10_results",
    ):
        assert key in report
    # fast in 5..20, slow in 10..40: 16 combinations, 4 with fast >= slow are skipped, not run.
    assert report["trials"] == 12
    assert report["counts"]["skipped_invalid_combinations"] == 4
    assert set(report["best_metrics"]) >= {"sharpe", "returns", "drawdown"}
    top = report["top_10_results"]
    assert [r["rank"] for r in top] == list(range(1, 11))
    assert top[0]["params"] == report["best_params"]
    assert all(a["objective"] >= b["objective"] for a, b in itertools.pairwise(top))
    with (out / "results.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 12 and all(r["state"] == "complete" for r in rows)
    assert all(int(r["fast"]) < int(r["slow"]) for r in rows)
    best = tomllib.loads((out / "best_params.toml").read_text())
    assert best["strategy"] == SMA and best["params"] == report["best_params"]
    assert (out / "heatmap.png").read_bytes()[:4] == b"\x89PNG"
    assert "top results by sharpe" in stdout


def test_rerun_resumes_without_repeating(tradd: Tradd, tmp_path: Path) -> None:
    out = tmp_path / "grid"
    args = (
        "optimize",
        "--strategy",
        SMA,
        *COMMON,
        "--param",
        "fast=5,10",
        "--param",
        "slow=30,40",
        "--output",
        str(out),
    )
    assert tradd(*args)[0] == 0
    first = read_json(out / "optimization.json")
    code, _, stderr = tradd(*args)
    assert code == 0, stderr
    second = read_json(out / "optimization.json")
    assert second["trials_run_by_this_process"] == 0
    assert second["trials"] == first["trials"] == 4
    assert second["optimization_id"] == first["optimization_id"]


def test_bayesian_with_plots(tradd: Tradd, tmp_path: Path) -> None:
    out = tmp_path / "bayes"
    code, _, stderr = tradd(
        "optimize",
        "--strategy",
        SMA,
        *COMMON,
        "--method",
        "bayesian",
        "--trials",
        "14",
        "--seed",
        "3",
        "--objective",
        "composite",
        "--param",
        "fast=5:20:1",
        "--param",
        "slow=30:90:5",
        "--param",
        "threshold=0:0.02:0.005",
        "--output",
        str(out),
    )
    assert code == 0, stderr
    report = read_json(out / "optimization.json")
    assert report["method"] == "bayesian" and report["objective"] == "composite"
    assert report["trials"] == 14
    assert 0 <= report["top_10_results"][0]["objective"] <= 100
    assert (out / "optimization_history.png").is_file()
    assert (out / "param_importance.png").is_file()


def test_failing_trials_are_recorded_and_the_run_continues(run_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "faulty.py").write_text(
        "from strategies.sma_cross import SmaCross\n\n"
        "class Faulty(SmaCross):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        if self.p.fast == 10:\n"
        "            raise RuntimeError('fast=10 is cursed')\n"
    )
    out = tmp_path / "out"
    result = run_cli(
        "optimize",
        "--strategy",
        "faulty.Faulty",
        *COMMON,
        "--param",
        "fast=5,10,15",
        "--param",
        "slow=30",
        "--output",
        str(out),
        "--config",
        str(ROOT / "etc" / "tradd.toml"),
        cwd=tmp_path,
        env={"PYTHONPATH": str(ROOT)},
    )
    assert result.code == 0, result.stderr
    report = read_json(out / "optimization.json")
    assert report["trials"] == 2
    assert report["failures"] == [
        {
            "trial": report["failures"][0]["trial"],
            "params": {"fast": 10, "slow": 30},
            "error": "RuntimeError: fast=10 is cursed",
        }
    ]
    assert "1 failed" in result.stdout


def test_bad_input_is_one_clear_line(tradd: Tradd, tmp_path: Path) -> None:
    """In this process: the test is about the messages and exit codes, not the process."""
    base = [
        "optimize",
        "--strategy",
        SMA,
        "--output",
        str(tmp_path / "o"),
        "--data-dir",
        str(SAMPLE_DATA),
    ]
    cases = [
        (["--symbols", "GOOG", "--param", "speed=1:3:1"], 2, "unknown parameter 'speed'"),
        (["--symbols", "GOOG", "--param", "fast=9:3:1"], 2, "empty range"),
        (["--symbols", "GOOG"], 2, "nothing to optimize"),
        (["--symbols", "NOPE", "--param", "fast=5,10"], 65, "no 1d data for NOPE"),
        (
            ["--symbols", "GOOG", "--start", "2020-01-01", "--param", "fast=5,10"],
            65,
            "no bars between 2020-01-01",
        ),
        (
            ["--symbols", "GOOG", "--param", "fast=5,10", "--storage", "redis://u:pw@x/0"],
            2,
            "not a storage URL",
        ),
        (
            ["--symbols", "GOOG", "--param", "fast=5,10", "--method", "random"],
            2,
            "--method 'random'",
        ),
        (
            ["--symbols", "GOOG", "--param", "fast=40,50", "--param", "slow=20"],
            2,
            "all 2 combinations are invalid",
        ),
        (
            ["--symbols", "GOOG", "--param", "fast=5,10", "--params-file", "/nonexistent.toml"],
            2,
            "no such file",
        ),
    ]
    for extra, expected, message in cases:
        code, _, stderr = tradd(*base, *extra)
        assert code == expected, (extra, stderr)
        assert message in stderr, (extra, stderr)
        assert "Traceback" not in stderr
        assert "pw@" not in stderr


def _complete_count(journal: Path) -> int:
    if not journal.exists():
        return 0
    storage = parse_storage(str(journal), journal.parent).open()
    studies = optuna.get_all_study_summaries(storage)
    if not studies:
        return 0
    study = optuna.load_study(study_name=studies[0].study_name, storage=storage)
    return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))


def test_ctrl_c_keeps_finished_trials_and_a_rerun_completes(
    tradd: Tradd, spawn_cli: SpawnCli, tmp_path: Path
) -> None:
    """The interrupted run is a process (Ctrl-C is a signal to one); the rerun that
    completes it is not about the process and runs in this one."""
    out = tmp_path / "out"
    args = (
        "optimize",
        "--strategy",
        SMA,
        "--symbols",
        "GOOG",
        "--data-dir",
        str(SAMPLE_DATA),
        "--param",
        "fast=5:40:5",
        "--param",
        "slow=50:100:10",
        "--workers",
        "2",
        "--no-kernel",  # every trial in Backtrader: slow enough to interrupt halfway
        "--output",
        str(out),
    )
    process = spawn_cli(*args)
    deadline = time.monotonic() + 120
    while _complete_count(out / "study.journal") < 3:  # wait for real progress, bounded
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no trial finished within 120 s"
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    interrupted = read_json(out / "optimization.json")
    assert interrupted["interrupted"] is True
    assert 3 <= interrupted["trials"] < 48
    code, _, stderr = tradd(*args)
    assert code == 0, stderr
    final = read_json(out / "optimization.json")
    assert final["trials"] == 48
    assert final["trials_run_by_this_process"] == 48 - interrupted["trials"]


def test_bayesian_repeats_reuse_the_earlier_result(tradd: Tradd, tmp_path: Path) -> None:
    """Two possible combinations, six trials: the sampler must repeat, and repeats don't rerun."""
    out = tmp_path / "bayes"
    code, _, stderr = tradd(
        "optimize",
        "--strategy",
        SMA,
        *COMMON,
        "--method",
        "bayesian",
        "--trials",
        "6",
        "--seed",
        "1",
        "--workers",
        "1",
        "--param",
        "fast=5,10",
        "--param",
        "slow=30",
        "--no-kernel",  # the repeats are the pool's; a screen keeps distinct ones only
        "--output",
        str(out),
    )
    assert code == 0, stderr
    storage = parse_storage(str(out / "study.journal"), out).open()
    name = optuna.get_all_study_summaries(storage)[0].study_name
    trials = optuna.load_study(study_name=name, storage=storage).get_trials(
        states=(TrialState.COMPLETE,)
    )
    assert len(trials) == 6
    originals = [t for t in trials if "duplicate_of" not in t.user_attrs]
    assert len({tuple(t.params.values()) for t in originals}) == len(originals) <= 2
    by_number = {t.number: t for t in trials}
    for repeat in (t for t in trials if "duplicate_of" in t.user_attrs):
        earlier = by_number[repeat.user_attrs["duplicate_of"]]
        assert (repeat.params, repeat.value) == (earlier.params, earlier.value)
