"""`tradd walkforward` end to end through the CLI, on the shipped sample data: in this
process through the CLI's entry point, but for Ctrl-C (a signal to a process of its own)."""

from __future__ import annotations

import csv
import json
import signal
import time
from pathlib import Path

import pytest

from ...conftest import SAMPLE_DATA, SpawnCli
from ..conftest import Tradd
from .keys import OVERFITTING_KEYS, SUMMARY_KEYS

SMA = "strategies.sma_cross.SmaCross"
PNG = b"\x89PNG\r\n\x1a\n"
WINDOW_KEYS = {
    "index",
    "is_start",
    "is_end",
    "oos_start",
    "oos_end",
    "best_params",
    "is_sharpe",
    "oos_sharpe",
    "is_return",
    "oos_return",
    "is_max_drawdown",
    "oos_max_drawdown",
    "is_trades",
    "oos_trades",
    "degradation",
}


def common(out: Path, start: str = "2005-01-01", end: str = "2008-12-31") -> list[str]:
    return [
        "walkforward",
        "--strategy",
        SMA,
        "--symbols",
        "ORCL",
        "--start",
        start,
        "--end",
        end,
        "--is-months",
        "12",
        "--oos-months",
        "6",
        "--data-dir",
        str(SAMPLE_DATA),
        "--workers",
        "2",
        "--output",
        str(out),
    ]


@pytest.mark.slow
def test_grid_walkforward_writes_every_output(tradd: Tradd, tmp_path: Path) -> None:
    out = tmp_path / "wf"
    code, stdout, stderr = tradd(*common(out), "--param", "fast=10,20", "--param", "slow=50,100")
    assert code == 0, stderr
    document = json.loads((out / "walkforward.json").read_text())
    assert set(document["summary"]) >= set(SUMMARY_KEYS)
    assert set(document["summary"]["parameter_stability"]) == {"fast", "slow"}
    assert set(OVERFITTING_KEYS) <= set(document["summary"]["overfitting"])
    assert "stitched OOS PSR" in stdout
    windows = document["windows"]
    assert len(windows) == document["summary"]["windows"] == 6
    assert all(set(w) >= WINDOW_KEYS for w in windows)
    assert all(set(w["dsr"]) >= {"dsr", "n_trials", "expected_max_sharpe"} for w in windows)
    assert [w["oos_start"] for w in windows[:2]] == ["2006-01-01", "2006-07-01"]
    assert all(w["trials"]["complete"] == 4 for w in windows)
    assert all(w["degradation"] == pytest.approx(w["is_sharpe"] - w["oos_sharpe"]) for w in windows)
    with (out / "walkforward.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 6
    assert [r["fast"] for r in rows] == [str(w["best_params"]["fast"]) for w in windows]
    with (out / "oos_equity.csv").open() as fh:
        assert len(list(csv.DictReader(fh))) == sum(w["oos_bars"] for w in windows)
    for png in ("is_vs_oos.png", "oos_equity.png"):
        assert (out / png).read_bytes()[:8] == PNG
    assert "walk-forward windows" in stdout and "avg OOS Sharpe" in stdout
    assert "IS trials" in stderr  # the progress bar


@pytest.mark.slow
def test_bayesian_anchored_walkforward(tradd: Tradd, tmp_path: Path) -> None:
    out = tmp_path / "wf"
    args = [*common(out, end="2007-06-30"), "--mode", "anchored", "--method", "bayesian"]
    more = ["--trials", "5", "--seed", "11", "--param", "fast=5:30:5", "--param", "slow=40:120:20"]
    code, _, stderr = tradd(*args, *more)
    assert code == 0, stderr
    document = json.loads((out / "walkforward.json").read_text())
    assert document["mode"] == "anchored" and document["trials_per_window"] == 5
    windows = document["windows"]
    assert len(windows) == 3
    assert {w["is_start"] for w in windows} == {"2005-01-01"}
    assert [w["is_end"] for w in windows] == ["2005-12-31", "2006-06-30", "2006-12-31"]
    for w in windows:
        t = w["trials"]
        assert t["complete"] + t["skipped"] + t["failed"] + t["repeated"] == 5


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--mode", "sideways"], "--mode 'sideways'"),
        (["--trials", "many"], "'--trials'"),
    ],
)
def test_bad_options_exit_2_naming_the_option(
    tradd: Tradd, tmp_path: Path, extra: list[str], needle: str
) -> None:
    code, _, stderr = tradd(*common(tmp_path / "wf"), "--param", "fast=10,20", *extra)
    assert code == 2, stderr
    assert needle in stderr
    assert not (tmp_path / "wf" / "walkforward.json").exists()


def _windows_finished(log: Path) -> int:
    if not log.exists():
        return 0
    return log.read_text().count("walkforward window finished")


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_with_130(spawn_cli: SpawnCli, tmp_path: Path) -> None:
    out = tmp_path / "wf"
    args = common(out, start="1996-01-01", end="2014-12-31")
    process = spawn_cli(*args, "--oos-months", "2", "--param", "fast=10,20", "--param", "slow=50")
    log = tmp_path / "logs" / "cli.log"
    deadline = time.monotonic() + 120
    while _windows_finished(log) < 1:  # wait for real progress, bounded
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no window finished within 120 s"
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    document = json.loads((out / "walkforward.json").read_text())
    assert document["interrupted"] is True
    assert 1 <= len(document["windows"]) < document["planned_windows"]
