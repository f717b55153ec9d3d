"""The two-stage search through `tradd optimize`: the kernel screens, Backtrader confirms
the best, every reported figure is Backtrader's, and an unfaithful kernel is caught."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from ...conftest import SAMPLE_DATA
from ..conftest import Tradd

LATE = "tests.research.kernels.unfaithful.LateSmaCross"
GRID = ["--method", "grid", "--param", "fast=5:20:5", "--param", "slow=20:50:10"]
"""4 x 4 = 16 combinations; fast=20, slow=20 is invalid: 15 run."""


def optimize(tradd: Tradd, out: Path, strategy: str, *args: str) -> tuple[dict[str, Any], str]:
    code, _stdout, stderr = tradd(
        "optimize", "--strategy", strategy, "--symbols", "GOOG", "--start", "2006-01-01",
        "--end", "2009-12-31", "--data-dir", str(SAMPLE_DATA), "--workers", "2",
        "--output", str(out), *args,
    )  # fmt: skip
    assert code == 0, stderr
    return json.loads((out / "optimization.json").read_text()), stderr


def results(out: Path) -> dict[tuple[int, int], float]:
    with (out / "results.csv").open() as f:
        return {
            (int(r["fast"]), int(r["slow"])): float(r["final_value"]) for r in csv.DictReader(f)
        }


def test_screen_confirms_the_best_in_backtrader(tradd: Tradd, tmp_path: Path) -> None:
    """The kernel's top 3 are Backtrader's top 3, with Backtrader's own figures."""
    screened, stderr = optimize(tradd, tmp_path / "k", "strategies.sma_cross.SmaCross",
                                *GRID, "--confirm", "3")  # fmt: skip
    assert "screened 15 combinations with the kernel" in stderr
    assert screened["trials"] == 3
    assert screened["screen"] | {"seconds": 0} == {
        "engine": "kernel", "screened": 15, "failed": 0, "confirmed": 3, "seconds": 0,
        "fallback": None,
    }  # fmt: skip
    everything, _ = optimize(tradd, tmp_path / "bt", "strategies.sma_cross.SmaCross",
                             *GRID, "--no-kernel")  # fmt: skip
    assert everything["trials"] == 15 and everything["screen"] is None
    full = sorted(everything["top_10_results"], key=lambda r: -r["objective"])[:3]
    assert [(r["params"], r["objective"]) for r in screened["top_10_results"]] == [
        (r["params"], r["objective"]) for r in full
    ]
    backtrader = results(tmp_path / "bt")
    for params, value in results(tmp_path / "k").items():
        assert backtrader[params] == value
    notes = screened["overfitting"]["notes"]
    assert "the Deflated Sharpe counts the 15 combinations screened" in notes


def test_an_unfaithful_kernel_falls_back_to_backtrader(tradd: Tradd, tmp_path: Path) -> None:
    report, stderr = optimize(tradd, tmp_path / "late", LATE,
                              *GRID, "--confirm", "2")  # fmt: skip
    assert "the kernel is not faithful on this run" in stderr
    assert "falling back to Backtrader for the whole search" in stderr
    assert report["screen"]["fallback"]
    assert report["trials"] == 15  # the whole grid, in Backtrader
    assert len(results(tmp_path / "late")) == 15


def test_bayesian_screen_confirms_its_best(tradd: Tradd, tmp_path: Path) -> None:
    report, stderr = optimize(tradd, tmp_path / "tpe", "strategies.sma_cross.SmaCross",
                              "--method", "bayesian", "--trials", "40", "--confirm", "4",
                              "--param", "fast=5:30:1", "--param", "slow=35:90:1",
                              "--seed", "7")  # fmt: skip
    assert "screened 40 Bayesian trials with the kernel" in stderr
    assert report["trials"] == 4
    assert report["screen"]["fallback"] is None


def test_confirm_must_be_positive(tradd: Tradd, tmp_path: Path) -> None:
    code, _, stderr = tradd("optimize", "--strategy", "strategies.sma_cross.SmaCross",
                            "--symbols", "GOOG", "--output", str(tmp_path), *GRID,
                            "--confirm", "0")  # fmt: skip
    assert code == 2
    assert "--confirm 0: must be at least 1" in stderr


def test_no_screen_when_backtrader_would_run_everything(tradd: Tradd, tmp_path: Path) -> None:
    """15 combinations and --confirm 20 (the default): all of them run in Backtrader."""
    report, stderr = optimize(tradd, tmp_path / "all", "strategies.sma_cross.SmaCross", *GRID)
    assert "screened" not in stderr
    assert report["screen"] is None and report["trials"] == 15
