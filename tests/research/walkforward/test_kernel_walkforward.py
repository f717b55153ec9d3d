"""Walk-forward on the two-stage path: each window's search screened by the kernel and
its best confirmed in Backtrader gives the report Backtrader alone gives; an unfaithful
kernel is caught per window and that window's search runs in Backtrader."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ...conftest import SAMPLE_DATA
from ..conftest import Tradd

ARGS = ["--symbols", "ORCL", "--start", "2005-01-01", "--end", "2008-12-31",
        "--data-dir", str(SAMPLE_DATA), "--param", "fast=5:20:5", "--param", "slow=20:60:20",
        "--is-months", "24", "--oos-months", "12", "--workers", "2"]  # fmt: skip
"""2 windows; 4 x 3 = 12 combinations, 11 valid."""


def walkforward(tradd: Tradd, out: Path, strategy: str, *extra: str) -> tuple[dict[str, Any], str]:
    code, _, stderr = tradd("walkforward", "--strategy", strategy, *ARGS, "--output", str(out),
                            *extra)  # fmt: skip
    assert code == 0, stderr
    return json.loads((out / "walkforward.json").read_text()), stderr


def test_screened_windows_equal_backtrader_windows(tradd: Tradd, tmp_path: Path) -> None:
    screened, stderr = walkforward(tradd, tmp_path / "k", "strategies.sma_cross.SmaCross",
                                   "--confirm", "3")  # fmt: skip
    assert "kernel: 22 in-sample trials screened, 6 confirmed in Backtrader" in stderr
    plain, _ = walkforward(tradd, tmp_path / "b", "strategies.sma_cross.SmaCross", "--no-kernel")
    assert len(screened["windows"]) == len(plain["windows"]) == 2
    for mine, theirs in zip(screened["windows"], plain["windows"], strict=True):
        counts = mine.pop("trials")
        assert (counts["screened"], counts["confirmed"], counts["fallback"]) == (11, 3, "")
        assert theirs.pop("trials")["screened"] == 0
        assert mine == theirs  # best params, IS/OOS figures, PBO and DSR: all the same
    assert screened["summary"] == plain["summary"]


def test_an_unfaithful_kernel_is_caught_per_window(tradd: Tradd, tmp_path: Path) -> None:
    report, stderr = walkforward(
        tradd,
        tmp_path / "late",
        "tests.research.kernels.unfaithful.LateSmaCross",
        "--confirm",
        "3",
    )
    assert "the kernel is not faithful on this run" in stderr
    for window in report["windows"]:
        assert window["trials"]["fallback"]
        assert window["trials"]["confirmed"] == 11  # every trial again, in Backtrader
