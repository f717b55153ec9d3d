"""`tradd scan` as users run it: outputs, the persisted run, exit codes, --execute refusals."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from .conftest import FakeDaemon, Tradd

SMA = "strategies.sma_cross.SmaCross"


def test_a_scan_writes_its_report_is_a_run_and_exits_1_for_a_failed_symbol(
    tradd: Tradd, data_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "scan"
    code, stdout, stderr = tradd(
        "scan", "--symbols", "GOOG,NOPE", "--strategies", "strategies.sma_cross.SmaCross",
        "strategies.rsi.RsiReversion", "--start", "2012-01-01", "--end", "2012-06-30",
        "--cash", "50000", "--max-position-pct", "20", "--workers", "2",
        "--data-dir", str(data_dir), "--output", str(out),
    )  # fmt: skip
    assert code == 1, stderr
    document = json.loads((out / "scan.json").read_text())
    assert len(document["rows"]) == 4 and (out / "scan.csv").is_file()
    best = document["best"]["GOOG"]
    assert best in ("strategies.sma_cross.SmaCross", "strategies.rsi.RsiReversion")
    assert document["best"]["NOPE"] is None
    assert f"GOOG 2012-01-01 .. 2012-06-30: best {best.rsplit('.', 1)[1]}" in stdout
    assert "★ best" in stdout and "failed: NOPE, every strategy: no 1d data" in stdout
    assert "scanning" in stderr  # the progress bar
    code, shown, stderr = tradd("runs", "show", document["run_id"], "--json")
    assert code == 0, stderr
    run = json.loads(shown)
    assert (run["kind"], run["status"], run["progress_done"], run["progress_total"]) == (
        "scan", "complete", 4, 4,
    )  # fmt: skip
    assert run["output"] == str(out)
    assert run["request"]["symbols"] == ["GOOG", "NOPE"]
    assert run["request"]["cash"] == 50000 and run["request"]["max_position_pct"] == 20
    assert run["summary"]["best"]["GOOG"]["strategy"] == best
    assert run["summary"]["counts"]["failed"] == 2


def test_execute_without_a_daemon_exits_3_before_anything_is_run_or_sent(
    tradd: Tradd, data_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "scan"
    code, _, err = tradd(
        "scan", "--symbols", "GOOG", "--strategies", "strategies.sma_cross.SmaCross",
        "--start", "2012-01-01", "--end", "2012-03-31", "--data-dir", str(data_dir),
        "--output", str(out), "--execute", "--allow-stale",
    )  # fmt: skip
    socket = tmp_path / "run" / "control.sock"
    assert code == 3, err
    assert f"the daemon is not running (no control socket at {socket}): nothing sent" in err
    assert not out.exists()
    code, listed, _ = tradd("runs", "list", "--json")
    assert code == 0 and json.loads(listed) == []
    code, _, err = tradd("scan", "--execute", "--from-run", "scan-20260101-000000")
    assert code == 2 and "--from-run scan-20260101-000000: no such run" in err


def test_execute_refuses_an_old_period_before_anything_is_run_or_sent(
    tradd: Tradd, data_dir: Path, tmp_path: Path, fake_daemon: FakeDaemon
) -> None:
    out = tmp_path / "scan"
    code, _, err = tradd(
        "scan", "--symbols", "GOOG", "--strategies", SMA, "--start", "2012-01-01", "--end",
        "2012-03-31", "--data-dir", str(data_dir), "--output", str(out), "--execute",
        "--socket", str(fake_daemon.path),
    )  # fmt: skip
    assert code == 2, err
    assert f"the scan's period ended 2012-03-31, {(date.today() - date(2012, 3, 31)).days} " in err
    assert f"before today ({date.today()}), more than --max-age-days 7" in err
    assert "add --allow-stale for a rehearsal on the simulator" in err
    assert not out.exists() and fake_daemon.requests == []
    code, listed, _ = tradd("runs", "list", "--json")
    assert code == 0 and json.loads(listed) == []


def test_a_daemon_gone_after_the_scan_ran_exits_1_and_names_the_run_to_send_later(
    tradd: Tradd, data_dir: Path, tmp_path: Path, fake_daemon: FakeDaemon
) -> None:
    fake_daemon.status_replies = 1  # the check before the scan, then nothing
    out = tmp_path / "scan"
    code, _, err = tradd(
        "scan", "--symbols", "GOOG", "--strategies", SMA, "--start", "2012-01-01", "--end",
        "2012-03-31", "--data-dir", str(data_dir), "--output", str(out), "--execute",
        "--allow-stale", "--socket", str(fake_daemon.path),
    )  # fmt: skip
    run_id = json.loads((out / "scan.json").read_text())["run_id"]
    assert code == 1, err
    assert f"the scan ran (run {run_id}) but the daemon stopped answering before anything " in err
    assert (
        f"nothing sent; send its entries later with `tradd scan --execute --from-run {run_id}`"
        in err
    )
    assert fake_daemon.entries() == [] and not (out / "execution.json").exists()
    code, shown, _ = tradd("runs", "show", run_id, "--json")
    assert code == 0 and json.loads(shown)["status"] == "complete"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--symbols", "GOOG"], "--output: give a directory"),
        (["--output", "x"], "--symbols: give at least one symbol"),
        (["--symbols", "GOOG", "--output", "x", "--max-position-pct", "0"],
         "--max-position-pct 0: must be more than 0"),
        (["--from-run", "scan-1"], "--from-run: only with --execute"),
        (["--symbols", "GOOG", "--output", "x", "--position-pct", "5", "--socket", "s"],
         "--position-pct, --socket: only with --execute"),
        (["--execute", "--from-run", "scan-1", "--start", "2012-01-01"],
         "--start do not apply"),
        (["--execute", "--from-run", "scan-1", "--max-position-pct", "5"],
         "--max-position-pct do not apply (size its entries with --position-pct)"),
        (["--symbols", "GOOG", "--output", "x", "--min-score", "5", "--allow-stale",
          "--any-setup", "--max-total-pct", "50", "--max-age-days", "3"],
         "--min-score, --max-total-pct, --max-age-days, --allow-stale, --any-setup: only "
         "with --execute"),
        (["--execute", "--from-run", "scan-1", "--max-total-pct", "150"],
         "--max-total-pct 150: must be more than 0 and at most 100"),
        (["--execute", "--from-run", "scan-1", "--min-score", "-1"],
         "--min-score -1: must be from 0 to 100"),
        (["--symbols", "GOOG", "--output", "x", "--strategies", "strategies.nope.X"],
         "module 'strategies.nope' not found"),
    ],
)  # fmt: skip
def test_scan_usage_errors_name_the_option(tradd: Tradd, args: list[str], message: str) -> None:
    code, _, err = tradd("scan", *args)
    assert code == 2 and message in err, err
