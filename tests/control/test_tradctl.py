"""`tradctl` as operators run it: a separate process, against a real daemon."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT
from tests.fixtures.simulator import eventually, strategy_entry
from tests.supervisor.conftest import daemon_document

TRADCTL = [sys.executable, "-m", "tradd.control.tradctl"]


def tradctl(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TRADCTL, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, check=False)  # fmt: skip


def test_tradctl_does_not_import_backtrader_pandas_or_pydantic() -> None:
    code = ("import sys, tradd.control.tradctl; "
            "print(sorted({'backtrader', 'pandas', 'pydantic', 'numpy', 'sqlalchemy'} & set(sys.modules)))")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True)  # fmt: skip
    assert out.stdout.strip() == "[]"


def test_usage_and_unreachable_exit_codes(tmp_path) -> None:
    assert tradctl("frobnicate").returncode == 2
    assert tradctl("flatten").returncode == 2  # neither a strategy nor --all
    missing = tradctl("--socket", str(tmp_path / "none.sock"), "status")
    assert missing.returncode == 3 and "is tradd running" in missing.stderr


EVERY_COMMAND = (["status"], ["health"], ["reload"], ["events", "--since", "2"],
                 ["start", "s1"], ["stop", "s1"], ["restart", "s1"], ["pause", "s1"],
                 ["resume", "s1"], ["flatten", "s1"], ["flatten", "--all"],
                 ["alerts", "test", "--channel", "sms"], ["alerts", "list"],
                 ["enter", "s1", "GOOG", "BUY", "--quantity", "1"],
                 ["proposals", "list", "--strategy", "s1"], ["proposals", "show", "3"],
                 ["proposals", "approve", "3"], ["proposals", "reject", "3"],
                 ["proposals", "rollback", "s1"],
                 ["schedules", "list"], ["schedules", "run", "nightly"])  # fmt: skip
THROUGH = {"promote": "proposals"}
"""Daemon commands tradctl reaches through another subcommand: `promote` is `tradctl
proposals approve|reject|rollback` (a decision is serialised, a look is not)."""


def test_every_command_takes_json_after_it_as_well_as_before(tmp_path, capsys) -> None:
    from tradd.control.commands import COMMANDS
    from tradd.control.tradctl import EXIT_UNREACHABLE, main

    assert {argv[0] for argv in EVERY_COMMAND} == {THROUGH.get(c, c) for c in COMMANDS}
    missing = ["--socket", str(tmp_path / "none.sock")]
    for argv in EVERY_COMMAND:
        for line in ([*missing, *argv, "--json"], [*missing, "--json", *argv]):
            assert main(line) == EXIT_UNREACHABLE, (line, capsys.readouterr().err)
    assert main([*missing, "alerts", "--json", "list"]) == EXIT_UNREACHABLE


def test_status_table_json_health_and_errors(tmp_path, simulator, sqlite_url, start_daemon) -> None:
    entries = [strategy_entry("s1", params={"script": "1:BUY:10"}),
               strategy_entry("s2", client_id=12, symbols=["ORCL"], enabled=False)]  # fmt: skip
    daemon = start_daemon(daemon_document(tmp_path, simulator, sqlite_url, entries))
    daemon.wait_trading("s1")
    simulator.call(simulator.gw.advance, 60)
    sock = str(daemon.socket)
    eventually(
        lambda: "GOOG:10" in tradctl("--socket", sock, "status").stdout, 20, "position shown"
    )
    table = tradctl("--socket", sock, "status")
    assert table.returncode == 0
    header, *rows = table.stdout.splitlines()[1:]
    for column in ("STRATEGY", "STATE", "UPTIME", "RESTARTS", "CONN", "POSITIONS", "P&L",
                   "ACCT P&L TODAY", "ACCT EQUITY", "ACCT DD%", "BAR AGE", "RISK"):  # fmt: skip
        assert column in header
    by_name = {row.split()[0]: row for row in rows}
    assert "RUNNING" in by_name["s1"] and "connected" in by_name["s1"] and "ACTIVE" in by_name["s1"]
    assert "STOPPED" in by_name["s2"]
    raw = json.loads(tradctl("--socket", sock, "--json", "status").stdout)
    assert raw["ok"] and raw["v"] == 1
    after = json.loads(tradctl("--socket", sock, "status", "--json").stdout)  # as documented
    assert after["ok"] and {s["name"] for s in after["result"]["strategies"]} == {"s1", "s2"}
    assert tradctl("--socket", sock, "health").returncode == 0
    refused = tradctl("--socket", sock, "pause", "nope")
    assert refused.returncode == 1 and "[unknown_strategy]" in refused.stderr
    stopped = tradctl("--socket", sock, "stop", "s1")
    assert stopped.returncode == 0 and "state=STOPPED" in stopped.stdout
    # Stopped: not connected, no risk gate, and the position it held is marked as past
    row = next(r for r in tradctl("--socket", sock, "status").stdout.splitlines()
               if r.startswith("s1 "))  # fmt: skip
    assert "STOPPED" in row and "not running" in row and "GOOG:10 (as of " in row, row
    assert " connected" not in row and "ACTIVE" not in row and "unknown" in row, row
    gone = json.loads(tradctl("--socket", sock, "status", "--json").stdout)["result"]
    s1 = next(s for s in gone["strategies"] if s["name"] == "s1")["worker"]
    assert s1["live"] is False and s1["connection"] == "not running", s1
    assert s1["trading_state"] == "unknown" and "positions" not in s1
    assert s1["last_known"]["positions"]["GOOG"]["quantity"] == 10 and s1["last_known"]["as_of"]
    unhealthy = tradctl("--socket", sock, "health")
    assert (
        unhealthy.returncode == 4 and "UNHEALTHY" in unhealthy.stdout and "s1" in unhealthy.stdout
    )
    flat = tradctl("--socket", sock, "flatten", "s1")
    assert "s1: FLAT via emergency" in flat.stdout and "GOOG: 10.0 -> 0.0 (flat)" in flat.stdout
    assert flat.returncode == 0 and "ALL FLAT" in flat.stdout
