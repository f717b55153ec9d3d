"""`tradd optimize` is a run too: `tradd runs list` shows it complete, progress full."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import SAMPLE_DATA, RunCli
from tradd.cli.app import main


def runs_list(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """`tradd runs list ARGS` in this process (the environment is the caller's)."""
    code = 0
    try:
        main(["runs", "list", *args])
    except SystemExit as exc:
        code = int(exc.code or 0)
    return code, capsys.readouterr().out


def test_an_optimization_is_listed_as_a_complete_run_with_its_progress(
    run_cli: RunCli,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "grid"
    optimized = run_cli(
        "optimize", "--strategy", "strategies.sma_cross.SmaCross", "--symbols", "GOOG",
        "--start", "2012-01-01", "--end", "2012-06-30", "--data-dir", str(SAMPLE_DATA),
        "--method", "grid", "--param", "fast=5:10:5", "--param", "slow=20:30:10",
        "--workers", "1", "--output", str(out),
    )  # fmt: skip
    assert optimized.code == 0, optimized.stderr
    assert (tmp_path / "state" / "tradd.db").is_file()  # run_cli's TRADD_STATE_DIR
    for key in [k for k in os.environ if k.startswith("TRADD_")]:
        monkeypatch.delenv(key)  # the same database run_cli used: the state dir's default
    monkeypatch.setenv("TRADD_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("TRADD_LOG__DIR", str(tmp_path / "logs"))
    monkeypatch.setenv("COLUMNS", "200")
    code, listed = runs_list("--json", capsys=capsys)
    assert code == 0
    (run,) = json.loads(listed)
    assert (run["kind"], run["status"], run["error"]) == ("optimize", "complete", None)
    assert run["progress_total"] == 4 and run["progress_done"] == run["progress_total"]
    assert run["output"] == str(out) and run["request"]["strategy"].endswith("SmaCross")
    assert run["summary"]["complete"] == 4 and run["finished_at"] is not None
    assert f"run {run['id']}" in optimized.stdout
    code, table = runs_list(capsys=capsys)
    assert code == 0 and run["id"] in table and "4/4 (100%)" in table
