"""A research run whose process was killed is failed with the reason, through the real CLI.

`tradd scan` (and `tradd compare`) runs a strategy that blocks on a FIFO nobody writes, so
the run stays under way for as long as the test wants; the test waits for its row (polling
the store against a deadline), sees `tradd runs list` leave the live run alone, SIGKILLs
the command and sees the same listing mark it failed. SQLite and PostgreSQL.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import ROOT, SAMPLE_DATA, RunCli
from tests.fixtures.database import BACKENDS
from tradd.persistence.db import open_database
from tradd.research.runs import RunRecord, RunStore
from tradd.research.runs.process import Owner

HERE = socket.gethostname()
GATE_STRATEGY = """\
import os

from tradd.strategy import Strategy


class Waits(Strategy):
    \"\"\"Blocks on its first bar until someone writes the FIFO named in RUNS_TEST_GATE.\"\"\"

    def next(self):
        with open(os.environ["RUNS_TEST_GATE"]) as gate:
            gate.read()
"""
DEADLINE_S = 120.0


def listed(run_cli: RunCli, database_url: str, run_id: str) -> dict:  # type: ignore[type-arg]
    result = run_cli("runs", "list", "--json", env={"TRADD_DATABASE__URL": database_url})
    assert result.code == 0, result.stderr
    (run,) = [r for r in json.loads(result.stdout) if r["id"] == run_id]
    return run  # type: ignore[no-any-return]


def shown(run_cli: RunCli, database_url: str, run_id: str) -> dict:  # type: ignore[type-arg]
    result = run_cli("runs", "show", run_id, "--json", env={"TRADD_DATABASE__URL": database_url})
    assert result.code == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def running_run(store: RunStore, process: subprocess.Popen[bytes], logs: Path) -> RunRecord:
    """The command's run once its row says running (polled against a deadline)."""
    deadline = time.monotonic() + DEADLINE_S
    while True:
        runs = [r for r in store.list() if r.status == "running"]
        if runs:
            return runs[0]
        assert process.poll() is None, (logs / "stderr").read_text()
        assert time.monotonic() < deadline, f"no running run within {DEADLINE_S:g} s"
        time.sleep(0.05)


KILLED = {
    "scan": ["scan", "--strategies", "gate_strategy.Waits", "--output", "scan"],
    "compare": ["compare", "--strategies", "gate_strategy.Waits,gate_strategy.Waits",
                "--output", "cmp/comparison.html"],
}  # fmt: skip
"""A command whose backtests block on the gate: its run stays under way."""
SQLITE, POSTGRES = BACKENDS
KINDS = [
    pytest.param("sqlite", "scan", id="sqlite-scan"),
    pytest.param("postgresql", "scan", marks=POSTGRES.marks, id="postgresql-scan"),
    pytest.param("sqlite", "compare", id="sqlite-compare"),
]
"""A comparison's run is recorded as a scan's is (`tracked_run`): one database is enough."""


@pytest.mark.slow
@pytest.mark.parametrize(("database_url", "kind"), KINDS, indirect=["database_url"])
def test_a_killed_run_is_failed_with_the_reason_and_a_live_one_is_left_running(
    run_cli: RunCli, store: RunStore, database_url: str, tmp_path: Path, kind: str
) -> None:
    gate = tmp_path / "gate"
    os.mkfifo(gate)
    (tmp_path / "gate_strategy.py").write_text(GATE_STRATEGY)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADD_")}
    env.update({"TRADD_DATABASE__URL": database_url, "TRADD_LOG__DIR": str(tmp_path / "logs"),
                "TRADD_STATE_DIR": str(tmp_path / "state"), "RUNS_TEST_GATE": str(gate),
                "PYTHONPATH": str(ROOT)})  # fmt: skip
    command, *options, output = KILLED[kind]
    args = [command, *options, str(tmp_path / output), "--symbols", "GOOG", "--start",
            "2012-01-01", "--end", "2012-06-30", "--workers", "1", "--data-dir",
            str(SAMPLE_DATA)]  # fmt: skip
    with (tmp_path / "stdout").open("wb") as out, (tmp_path / "stderr").open("wb") as err:
        process = subprocess.Popen([sys.executable, "-m", "tradd", *args], cwd=tmp_path,
                                   env=env, stdout=out, stderr=err, start_new_session=True)  # fmt: skip
    try:
        run = running_run(store, process, tmp_path)
        assert (
            run.kind == kind
            and run.owner is not None
            and (run.owner.host, run.owner.pid) == (HERE, process.pid)
        )
        alive = listed(run_cli, database_url, run.id)
        assert (alive["status"], alive["pid"], alive["host"]) == ("running", process.pid, HERE)
        process.send_signal(signal.SIGKILL)  # the command only; its pool worker stays blocked
        assert process.wait(timeout=DEADLINE_S) == -signal.SIGKILL
        dead = listed(run_cli, database_url, run.id)
        reason = f"the process (pid {process.pid} on {HERE}) ended without finishing the run"
        assert (dead["status"], dead["error"]) == ("failed", reason)
        assert dead["finished_at"] is not None
        assert shown(run_cli, database_url, run.id)["error"] == reason
        result = run_cli("runs", "show", run.id, env={"TRADD_DATABASE__URL": database_url})
        assert "failed" in result.stdout and f"pid {process.pid} on {HERE}" in result.stdout
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # the orphaned pool worker
        process.wait(timeout=DEADLINE_S)


def test_the_cli_reaps_a_stale_lease_of_another_host_and_spares_a_fresh_one(
    run_cli: RunCli, database_url: str
) -> None:
    engine, sessions = open_database(database_url)
    try:
        worker = Owner("worker-7.example", 4242, "boot/1")
        long_ago = datetime.now(UTC) - timedelta(minutes=2)
        stale = RunStore(sessions, lambda: long_ago).start("optimize", {}, None, owner=worker)
        fresh = RunStore(sessions, lambda: datetime.now(UTC)).start("scan", {}, None, owner=worker)
    finally:
        engine.dispose()
    run = shown(run_cli, database_url, stale)
    since = long_ago.strftime("%Y-%m-%d %H:%M:%S UTC")
    assert run["status"] == "failed"
    assert run["error"] == f"no sign of life from pid 4242 on worker-7.example since {since}"
    assert listed(run_cli, database_url, fresh)["status"] == "running"
