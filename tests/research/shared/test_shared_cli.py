"""`tradd walkforward` and `tradd scan` shared through a study (`--storage/--study`), with
real processes: two processes finish one run together, every unit run exactly once, and
report what a single process reports; a process killed with SIGKILL in the middle of a
unit leaves it to the next process, which runs it (nothing lost, nothing run twice).
Each runs on SQLite and on PostgreSQL (`database_url`; skipped without PG_TEST_URL)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import TrialState

from tradd.research.optimize.storage import parse_storage

from ...conftest import ROOT, SAMPLE_DATA, SpawnCli, _clean_env
from ..conftest import Tradd

SMA = "strategies.sma_cross.SmaCross"
WINDOWS = 6


def walkforward(out: Path, *extra: str) -> list[str]:
    return [
        "walkforward", "--strategy", SMA, "--symbols", "ORCL", "--start", "2005-01-01",
        "--end", "2008-12-31", "--is-months", "12", "--oos-months", "6",
        "--data-dir", str(SAMPLE_DATA), "--workers", "1", "--output", str(out), *extra,
    ]  # fmt: skip


SCAN_SYMBOLS = "GOOG,NVDA,ORCL,YHOO"
SCAN_ROWS = 4 * 3  # the strategies package has three


def scan(out: Path, *extra: str) -> list[str]:
    return [
        "scan", "--symbols", SCAN_SYMBOLS, "--strategies", "all", "--data-dir",
        str(SAMPLE_DATA), "--no-cache", "--workers", "1", "--output", str(out), *extra,
    ]  # fmt: skip


def trials(storage: str, study: str) -> list[optuna.trial.FrozenTrial]:
    loaded = optuna.load_study(study_name=study, storage=parse_storage(storage, Path()).open())
    return loaded.get_trials(deepcopy=False)


def unit_of(trial: optuna.trial.FrozenTrial) -> str:
    return str(trial.system_attrs["fixed_params"]["unit"])


def assert_each_unit_once(storage: str, study: str, units: int) -> list[Any]:
    every = trials(storage, study)
    complete = [unit_of(t) for t in every if t.state == TrialState.COMPLETE]
    assert len(complete) == len(set(complete)) == units
    assert not [t for t in every if t.state in (TrialState.WAITING, TrialState.RUNNING)]
    return every


def finish_together(spawn_cli: SpawnCli, args: Callable[[Path], list[str]], tmp: Path) -> None:
    processes = [spawn_cli(*args(tmp / name)) for name in ("a", "b")]
    for process in processes:
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr


def without(document: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k not in keys}


def test_walkforward_two_processes_share_one_study(
    tradd: Tradd, spawn_cli: SpawnCli, tmp_path: Path, database_url: str
) -> None:
    grid = ("--param", "fast=5:20:5", "--param", "slow=50,60")
    code, _, stderr = tradd(*walkforward(tmp_path / "alone", *grid))
    assert code == 0, stderr
    alone = json.loads((tmp_path / "alone" / "walkforward.json").read_text())
    shared = ("--storage", database_url, "--study", "wf", *grid)
    finish_together(spawn_cli, lambda out: walkforward(out, *shared), tmp_path)
    assert_each_unit_once(database_url, "wf", WINDOWS)
    reports = [json.loads((tmp_path / n / "walkforward.json").read_text()) for n in "ab"]
    for report in reports:
        assert without(report, "shared") == alone  # every window, the same numbers
        counts = report["shared"]
        assert counts["windows_run_here"] + counts["windows_run_elsewhere"] == WINDOWS
        assert counts["pending"] == 0
    assert sum(r["shared"]["windows_run_here"] for r in reports) == WINDOWS
    # Joining with other arguments is refused, naming what differs; nothing is run.
    code, _, stderr = tradd(*walkforward(tmp_path / "c", *shared[:-1], "slow=50,70"))
    assert code == 2, stderr
    assert "'wf' was created with different param_space" in stderr
    assert not (tmp_path / "c" / "walkforward.json").exists()


def spawn_own_group(tmp_path: Path, args: list[str]) -> subprocess.Popen[str]:
    """`tradd ARGS` in a process group of its own: SIGKILL to the group kills it and its
    worker processes at once, as a machine that dies would."""
    env = _clean_env({"TRADD_LOG__DIR": str(tmp_path / "logs"),
                      "TRADD_STATE_DIR": str(tmp_path / "state")})  # fmt: skip
    return subprocess.Popen(
        [sys.executable, "-m", "tradd", *args], cwd=ROOT, env=env, text=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip


def kill_mid_unit(start: Callable[[], subprocess.Popen[str]], storage: str, study: str) -> str:
    """SIGKILL a process's group once units are done and one is running; the unit it was
    running. Started again if the unit finished just before the kill (a fast scan row)."""
    for _ in range(5):
        process = start()
        deadline = time.monotonic() + 120
        while process.poll() is None:
            assert time.monotonic() < deadline, "no unit finished and another started in 120 s"
            every = _trials_if_any(storage, study)
            done = [t for t in every if t.state == TrialState.COMPLETE]
            if done and [t for t in every if t.state == TrialState.RUNNING and t.user_attrs]:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)
                break
            time.sleep(0.05)
        assert process.returncode == -signal.SIGKILL, process.communicate()
        running = [t for t in trials(storage, study) if t.state == TrialState.RUNNING]
        if running:
            return unit_of(running[0])
    raise AssertionError("never killed while a unit was running")


def _trials_if_any(storage: str, study: str) -> list[optuna.trial.FrozenTrial]:
    try:
        return trials(storage, study)
    except KeyError:  # not created yet
        return []


def assert_rerun_after_kill(storage: str, study: str, units: int, killed: str) -> None:
    every = assert_each_unit_once(storage, study, units)
    failed = [t for t in every if t.state == TrialState.FAIL]
    assert [unit_of(t) for t in failed] == [killed]
    assert "is gone" in failed[0].user_attrs["error"]


def test_walkforward_killed_process_leaves_its_window_to_the_next(
    tradd: Tradd, tmp_path: Path, database_url: str
) -> None:
    grid = ("--param", "fast=5:30:5", "--param", "slow=40:80:10")
    args = walkforward(tmp_path / "wf", "--storage", database_url, "--study", "k", *grid)
    killed = kill_mid_unit(lambda: spawn_own_group(tmp_path, args), database_url, "k")
    code, _, stderr = tradd(*args)
    assert code == 0, stderr
    assert "re-queued 1 unit(s) left unfinished by a dead process" in stderr
    assert_rerun_after_kill(database_url, "k", WINDOWS, killed)
    report = json.loads((tmp_path / "wf" / "walkforward.json").read_text())
    assert [w["index"] for w in report["windows"]] == list(range(WINDOWS))
    assert report["shared"]["windows_run_elsewhere"] >= 1  # what the killed one finished
    assert report["shared"]["windows_run_here"] + report["shared"]["windows_run_elsewhere"] == 6


def test_scan_two_processes_share_one_study(
    tradd: Tradd, spawn_cli: SpawnCli, tmp_path: Path, database_url: str
) -> None:
    code, _, stderr = tradd(*scan(tmp_path / "alone"))
    assert code == 0, stderr
    alone = json.loads((tmp_path / "alone" / "scan.json").read_text())
    shared = ("--storage", database_url, "--study", "scan")
    finish_together(spawn_cli, lambda out: scan(out, *shared), tmp_path)
    assert_each_unit_once(database_url, "scan", SCAN_ROWS)
    reports = [json.loads((tmp_path / n / "scan.json").read_text()) for n in "ab"]
    for report in reports:
        assert without(report, "shared", "run_id") == without(alone, "run_id")
        counts = report["shared"]
        assert counts["rows_run_here"] + counts["rows_elsewhere"] == SCAN_ROWS
    assert sum(r["shared"]["rows_run_here"] for r in reports) == SCAN_ROWS


def test_scan_killed_process_leaves_its_row_to_the_next(
    tradd: Tradd, tmp_path: Path, database_url: str
) -> None:
    args = scan(tmp_path / "scan", "--storage", database_url, "--study", "k")
    killed = kill_mid_unit(lambda: spawn_own_group(tmp_path, args), database_url, "k")
    code, _, stderr = tradd(*args)
    assert code == 0, stderr
    assert "re-queued 1 unit(s)" in stderr
    assert_rerun_after_kill(database_url, "k", SCAN_ROWS, killed)
    report = json.loads((tmp_path / "scan" / "scan.json").read_text())
    assert len(report["rows"]) == SCAN_ROWS
    assert not [r for r in report["rows"] if r["error"]]
