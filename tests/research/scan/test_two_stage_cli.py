"""`tradd scan` in two stages: kernels screen, Backtrader confirms each symbol's best and
the best --confirm, the rest stays marked as screened, and an unfaithful kernel is caught."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from .conftest import Tradd

SYMBOLS = "GOOG,ORCL,NVDA,YHOO"
PERIOD = ("--start", "2012-01-01", "--end", "2012-12-31")
LATE = "tests.research.kernels.unfaithful.LateSmaCross"
RSI = "strategies.rsi.RsiReversion"


def scan(tradd: Tradd, data_dir: Path, out: Path, *args: str) -> tuple[dict[str, Any], str, str]:
    code, stdout, stderr = tradd(
        "scan", "--symbols", SYMBOLS, *PERIOD, "--workers", "2", "--data-dir", str(data_dir),
        "--output", str(out), *args,
    )  # fmt: skip
    assert code == 0, stderr
    return json.loads((out / "scan.json").read_text()), stdout, stderr


def figures(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in ("engine", "cached")}


def test_a_screened_scan_picks_what_backtrader_picks_and_marks_the_rest(
    tradd: Tradd, data_dir: Path, tmp_path: Path
) -> None:
    screened, stdout, stderr = scan(tradd, data_dir, tmp_path / "k", "--confirm", "2",
                                    "--no-cache")  # fmt: skip
    # The cache holds Backtrader's rows only; a cached row counts as confirmed: the same
    # scan again takes the confirmed rows from it and confirms nothing more.
    again, _, _ = scan(tradd, data_dir, tmp_path / "again", "--confirm", "2")
    assert again["cache_hits"] == 12 - (kept := screened["kernel"]["not_confirmed"])
    assert again["kernel"]["confirmed"] == 0 and again["kernel"]["not_confirmed"] == kept
    assert [(figures(r), r["engine"]) for r in again["rows"]] == [
        (figures(r), r["engine"]) for r in screened["rows"]
    ]
    plain, _, plain_err = scan(tradd, data_dir, tmp_path / "bt", "--no-kernel", "--no-cache")
    assert "kernel" not in plain and "screened" not in plain_err
    assert {r["engine"] for r in plain["rows"]} == {"backtrader"}
    assert screened["best"] == plain["best"]
    assert [figures(r) for r in screened["rows"]] == [figures(r) for r in plain["rows"]]
    engines = [r["engine"] for r in screened["rows"]]
    assert engines.count("kernel") == kept
    assert screened["kernel"] | {"seconds": 0} == {
        "screened": 12, "confirmed": 12 - kept, "not_confirmed": kept, "seconds": 0,
        "fallback": None,
    }  # fmt: skip
    assert 4 <= 12 - kept <= 6 and kept >= 6  # each symbol's best, and the best 2 overall
    assert all(r["engine"] == "backtrader" for r in screened["rows"] if r["rank"] == 1)
    assert "screened 12 row(s) with their strategies' kernels" in stderr
    assert stdout.count("kernel (not confirmed)") == kept
    assert f"{kept} shown as screened (engine kernel" in stdout
    with (tmp_path / "k" / "scan.csv").open() as handle:
        assert [r["engine"] for r in csv.DictReader(handle)] == engines
    code, shown, _ = tradd("runs", "show", screened["run_id"], "--json")
    assert code == 0
    summary = json.loads(shown)["summary"]
    assert {b["engine"] for b in summary["best"].values()} == {"backtrader"}
    assert summary["kernel"]["not_confirmed"] == kept
    # Shared through a study: screened in the process, only Backtrader's rows are units.
    journal = str(tmp_path / "study.journal")
    shared, _, shared_err = scan(tradd, data_dir, tmp_path / "shared", "--confirm", "2",
                                 "--no-cache", "--storage", journal, "--study", "s")  # fmt: skip
    assert shared["rows"] == screened["rows"] and shared["best"] == screened["best"]
    assert shared["shared"]["rows_run_here"] == 12 - kept
    assert f"study s ({journal}): {12 - kept} row(s) ran here" in shared_err


def test_an_unfaithful_kernel_falls_back_to_backtrader(
    tradd: Tradd, data_dir: Path, tmp_path: Path
) -> None:
    """8 rows screened, 3 confirmed: at least one is the late kernel's, which differs."""
    report, stdout, stderr = scan(tradd, data_dir, tmp_path / "late", "--strategies",
                                  f"{LATE},{RSI}", "--confirm", "3", "--no-cache")  # fmt: skip
    assert "warning: the kernel is not faithful on this run (" in stderr
    assert "falling back to Backtrader for the whole scan" in stderr
    record = report["kernel"]
    assert record["screened"] == 8 and record["not_confirmed"] == 0
    assert LATE in record["fallback"]
    assert {r["engine"] for r in report["rows"]} == {"backtrader"}
    assert "the kernel was not faithful" in stdout
    plain, _, _ = scan(tradd, data_dir, tmp_path / "bt", "--strategies", f"{LATE},{RSI}",
                       "--no-kernel", "--no-cache")  # fmt: skip
    assert [figures(r) for r in report["rows"]] == [figures(r) for r in plain["rows"]]


def test_confirm_must_be_positive_and_not_with_no_kernel(tradd: Tradd, tmp_path: Path) -> None:
    code, _, stderr = tradd("scan", "--symbols", "GOOG", "--output", str(tmp_path),
                            "--confirm", "0")  # fmt: skip
    assert code == 2 and "--confirm 0: must be at least 1" in stderr
    code, _, stderr = tradd("scan", "--symbols", "GOOG", "--output", str(tmp_path),
                            "--confirm", "3", "--no-kernel")  # fmt: skip
    assert code == 2 and "--confirm: not with --no-kernel" in stderr
