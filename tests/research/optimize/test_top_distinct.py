"""The top results are distinct parameter sets, and piped tables are printed whole."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tradd.research.optimize.report import Summary, TrialRow

from ...conftest import SAMPLE_DATA, RunCli

PIPED = {"COLUMNS": ""}
"""No COLUMNS: rich sizes the console as it would for `tradd ... | less`."""


def summary(rows: list[TrialRow]) -> Summary:
    return Summary("o", "s", "mem", "S", "bayesian", "sharpe", ["X"], "", "", [], rows, 0)


def test_top_keeps_the_best_trial_of_each_parameter_set() -> None:
    rows = [
        TrialRow(0, "complete", {"fast": 5, "slow": 30}, 1.0, {}),
        TrialRow(1, "complete", {"fast": 5, "slow": 30}, 1.0, {}),
        TrialRow(2, "complete", {"slow": 30, "fast": 10}, 2.0, {}),
        TrialRow(3, "complete", {"fast": 10, "slow": 30}, 2.0, {}),
        TrialRow(4, "failed", {"fast": 7, "slow": 30}, None, {}),
        *(TrialRow(5 + i, "complete", {"fast": 20 + i, "slow": 30}, -i, {}) for i in range(12)),
    ]
    top = summary(rows).top
    assert [(row.number, trials) for row, trials in top[:3]] == [(2, 2), (0, 2), (5, 1)]
    assert len(top) == 10
    assert len({tuple(sorted(row.params.items())) for row, _ in top}) == 10


def test_bayesian_repeats_show_once_and_piped_tables_are_whole(
    run_cli: RunCli, tmp_path: Path
) -> None:
    out = tmp_path / "bayes"
    result = run_cli(
        "optimize", "--strategy", "strategies.sma_cross.SmaCross", "--symbols", "GOOG",
        "--start", "2006-01-01", "--end", "2006-12-31", "--data-dir", str(SAMPLE_DATA),
        "--method", "bayesian", "--trials", "9", "--seed", "1", "--workers", "1",
        "--objective", "composite", "--param", "fast=5,10", "--param", "slow=30,40",
        "--param", "threshold=0,0.01", "--no-kernel", "--output", str(out), env=PIPED,
    )  # fmt: skip
    assert result.code == 0, result.stderr
    report = json.loads((out / "optimization.json").read_text())
    assert report["trials"] == 9  # more trials than the 8 sets: the sampler repeated
    top = report["top_10_results"]
    sets = [json.dumps(entry["params"], sort_keys=True) for entry in top]
    assert len(sets) == len(set(sets)) >= 2
    assert sum(entry["trials_with_these_params"] for entry in top) == 9
    # the piped table: every header whole, one row per parameter set
    header = next(line for line in result.stdout.splitlines() if "rank" in line)
    cells = [c.strip() for c in re.split(r"[┃│]", header) if c.strip()]
    assert cells == ["rank", "fast", "slow", "threshold", "composite", "return %", "sharpe",
                     "max dd %", "trades"]  # fmt: skip
    rows = [line for line in result.stdout.splitlines() if re.match(r"^│\s+\d+ │", line)]
    assert len(rows) == len(top)
    assert "…" not in result.stdout
    listed = run_cli("runs", "list", env=PIPED)
    assert listed.code == 0, listed.stderr
    assert "…" not in listed.stdout and str(out) in listed.stdout
