"""The short rehearsal CI runs: `python -m tradd.rehearsal` as a user runs it, two simulated
sessions (Friday, then Tuesday after a weekend and Presidents' Day) with the whole fault
schedule, and every invariant asserted from its report.

It is a real run (the simulator and `tradd run` as processes, real workers) of about three
minutes, so it has an xdist group of its own. Time-dependent checks have margins: control
answers within 5 s here (the table shows the worst), 30 s to recover from a fault and 95% of
the rest of the open-market time tradable (a shared CI machine restarts workers slowly), fills
and orders judged only after a grace and a settling period; the verdicts on the books are
exact.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("rehearsal")]


def _rehearse(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    work = tmp_path / "r"
    proc = subprocess.run(
        [sys.executable, "-m", "tradd.rehearsal", "--days", "2", "--speed", "400", "--workdir", str(work),
         "--status-limit", "5", "--recovery", "30", "--tradable", "0.95", *args],
        check=False, cwd=ROOT, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    report = json.loads((work / "report.json").read_text())
    return proc, report


def test_short_rehearsal_with_faults_keeps_every_invariant(tmp_path: Path) -> None:
    proc, report = _rehearse(tmp_path, "--seed", "11")
    table = proc.stdout
    assert report["failures"] == [], table
    assert report["findings"] == [], table
    for name, problems in report["invariants"].items():
        assert problems == [], f"{name}: {problems}\n{table}"
    for name, problems in report["mid_run"].items():
        assert problems == [], f"mid-run {name}: {problems}\n{table}"
    assert report["counts"]["fills"] > 0 and report["counts"]["lost"] == 0, table
    assert report["faults"].get("kill_worker", 0) >= 1, table
    assert proc.returncode == 0, table
    assert "PASS" in table
