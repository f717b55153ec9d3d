"""Gated promotion end to end, on one real `tradd run` against the simulator: a params file
edited by hand and reloaded restarts its worker; `tradd optimize --propose-for` stores a
proposal with its gates; `tradctl proposals approve` writes a new version of the params
file and restarts only that worker with the new parameters; a failing proposal is refused
naming its gates, and rejected; a rollback restores the previous version; a strategy with
`auto_promote = true` is promoted without anyone; every decision is audited and alerted."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import SAMPLE_DATA
from tests.fixtures.simulator import eventually, strategy_entry
from tests.fixtures.web import open_console
from tests.research.conftest import run_main
from tradd.control import tradctl
from tradd.persistence.db import open_database
from tradd.persistence.models_web import AuditRow

from .conftest import Daemon, daemon_document, write_document

SMA = "strategies.sma_cross.SmaCross"
PASSING = {"max_pbo": 1.0, "min_oos_psr": False, "min_efficiency": False}
"""Gates an optimize can pass (it has no OOS: those gates are switched off)."""


def optimize(capsys: pytest.CaptureFixture[str], config: Path, target: str, symbol: str,
             output: Path) -> tuple[int, str, str]:  # fmt: skip
    return run_main(capsys, (
        "optimize", "--strategy", SMA, "--symbols", symbol, "--start", "2006-01-01",
        "--end", "2008-12-31", "--data-dir", str(SAMPLE_DATA), "--param", "fast=5:10:5",
        "--param", "slow=20:40:20", "--workers", "1", "--output", str(output),
        "--config", str(config), "--propose-for", target,
    ))  # fmt: skip


def ctl(capsys: pytest.CaptureFixture[str], daemon: Daemon, *args: str) -> tuple[int, str, str]:
    code = tradctl.main(["--socket", str(daemon.socket), "proposals", *args])
    out, err = capsys.readouterr()
    return code, out, err


def proposals(daemon: Daemon, **args: Any) -> list[dict[str, Any]]:
    return list(daemon.result("proposals", action="list", **args)["proposals"])


def running_params(logs: Path, name: str) -> list[dict[str, Any]]:
    """The parameters of each start of the worker, from its log ("worker running")."""
    lines = (logs / f"worker-{name}.log").read_text().splitlines()
    found = [json.loads(line) for line in lines if '"worker running"' in line]
    return [entry["params"] for entry in found]


def restarted(daemon: Daemon, name: str, old_pid: int) -> int:
    state = daemon.wait_state(name, "RUNNING", 60, lambda s: s["pid"] != old_pid)
    return int(state["pid"])


def test_a_proposal_is_gated_approved_applied_rolled_back_and_auto_promoted(
    tmp_path, simulator, sqlite_url, start_daemon, capsys
) -> None:
    sma_file, paper_file = tmp_path / "sma.toml", tmp_path / "paper.toml"
    for path in (sma_file, paper_file):
        path.write_text("[params]\nfast = 10\nslow = 30\n")
    sma = strategy_entry("sma", strategy=SMA, params_file=str(sma_file))
    paper = strategy_entry("paper", strategy=SMA, symbols=["ORCL"], client_id=12,
                           params_file=str(paper_file), auto_promote=True)  # fmt: skip
    document = daemon_document(tmp_path, simulator, sqlite_url, [sma, paper])
    document["promotion"] = PASSING
    strict = write_document(tmp_path / "strict.toml", {**document, "promotion": {}})
    daemon = start_daemon(document)
    logs = tmp_path / "logs"
    pids = {n: daemon.wait_trading(n)["pid"] for n in ("sma", "paper")}

    # A trader edits the params file and reloads: the worker must restart with it.
    sma_file.write_text("[params]\nfast = 8\nslow = 30\n")
    plan = daemon.result("reload", timeout=120)
    assert plan["changed"] == ["sma"] and plan["unchanged"] == ["paper"], plan
    pids["sma"] = restarted(daemon, "sma", pids["sma"])
    assert running_params(logs, "sma")[-1] == {"fast": 8, "slow": 30, "threshold": 0.0}

    # A passing proposal, approved through tradctl.
    code, out, err = optimize(capsys, daemon.config, "sma", "GOOG", tmp_path / "opt1")
    assert code == 0, err
    [first] = proposals(daemon, strategy="sma")
    assert f"proposal {first['id']} for sma" in out and "passes its gates" in out
    assert first["state"] == "pending" and first["passed"] and first["kind"] == "optimize"
    assert [g["name"] for g in first["gates"]] == ["max_pbo"]
    assert first["evidence"]["pbo"] is not None and first["evidence"]["oos_psr"] is None
    code, out, _ = ctl(capsys, daemon, "list")
    assert code == 0 and f"{first['id']}" in out and "pending" in out
    code, out, _ = ctl(capsys, daemon, "show", str(first["id"]))
    assert code == 0 and "gate max_pbo" in out and "pass" in out
    code, out, err = ctl(capsys, daemon, "approve", str(first["id"]))
    assert code == 0, err
    assert "applied" in out and "version 1" in out
    pids["sma"] = restarted(daemon, "sma", pids["sma"])
    new = first["params"]
    assert running_params(logs, "sma")[-1] == {"threshold": 0.0, **new}
    assert tomllib.loads(sma_file.read_text())["params"] == new
    versions = tmp_path / "state" / "params" / "sma"
    assert tomllib.loads((versions / "v0000.toml").read_text())["params"]["fast"] == 8
    assert tomllib.loads((versions / "v0001.toml").read_text())["params"] == new
    assert daemon.strategies()["paper"]["pid"] == pids["paper"]  # only that worker

    # A failing proposal cannot be applied; it is rejected.
    code, out, err = optimize(capsys, strict, "sma", "GOOG", tmp_path / "opt2")
    assert code == 0, err
    assert "FAILS" in out and "min_oos_psr (not measured vs 0.95)" in out
    failing = proposals(daemon, strategy="sma", state="pending")[0]
    assert not failing["passed"]
    code, out, err = ctl(capsys, daemon, "approve", str(failing["id"]))
    assert code == 1 and "failed its gates" in err and "min_oos_psr" in err, err
    # ... nor through the console, where a trader rejects it (a viewer may only look).
    console = open_console(tmp_path / "console", sqlite_url, control={"socket": str(daemon.socket)})
    try:
        alice, victor = console.client("alice"), console.client("victor")
        shown = victor.get("/api/v1/proposals?strategy=sma&state=pending")
        assert shown.status_code == 200 and shown.json()["proposals"][0]["id"] == failing["id"]
        assert victor.post(f"/api/v1/proposals/{failing['id']}/reject").status_code == 403
        refused = alice.post(f"/api/v1/proposals/{failing['id']}/approve")
        assert refused.status_code == 409 and "min_oos_psr" in refused.json()["detail"]
        assert alice.post("/api/v1/proposals/9999/approve").status_code == 404
        rejected = alice.post(f"/api/v1/proposals/{failing['id']}/reject")
        assert rejected.status_code == 200 and rejected.json()["by"] == "web:alice"
    finally:
        console.close()
    assert daemon.strategies()["sma"]["pid"] == pids["sma"]

    # Rollback: the hand-edited version is live again.
    code, out, err = ctl(capsys, daemon, "rollback", "sma")
    assert code == 0 and "rolled back" in out and "version 0" in out, err
    restarted(daemon, "sma", pids["sma"])
    assert running_params(logs, "sma")[-1] == {"fast": 8, "slow": 30, "threshold": 0.0}
    assert tomllib.loads(sma_file.read_text())["params"] == {"fast": 8, "slow": 30}
    states = {p["id"]: p["state"] for p in proposals(daemon, strategy="sma")}
    assert states == {first["id"]: "rolled_back", failing["id"]: "rejected"}

    # auto_promote: applied by the daemon, nobody approving.
    code, out, err = optimize(capsys, daemon.config, "paper", "ORCL", tmp_path / "opt3")
    assert code == 0, err
    auto = eventually(lambda: [p for p in proposals(daemon, strategy="paper")
                               if p["state"] == "applied"], 30, "auto promotion")[0]  # fmt: skip
    assert auto["decided_by"] == "auto" and auto["version"] == 1
    restarted(daemon, "paper", pids["paper"])
    assert running_params(logs, "paper")[-1] == {"threshold": 0.0, **auto["params"]}

    # Audited and alerted.
    engine, sessions = open_database(sqlite_url)
    with sessions() as session:
        audit = [(r.user, r.action, r.ok) for r in session.scalars(select(AuditRow))]
    engine.dispose()
    me = tradctl_user()
    assert audit == [
        (me, "promote", True), (me, "promote", False), ("web:alice", "promote", False),
        ("web:alice", "reject", True), (me, "rollback", True), ("auto", "promote", True),
    ]  # fmt: skip
    kinds = [e["kind"] for e in daemon.result("events")["events"]]
    for kind in ("params_promoted", "proposal_rejected", "params_rolled_back"):
        assert kind in kinds
    alerted = eventually(lambda: {a["kind"] for a in
                                  daemon.result("alerts", action="list", limit=50)["alerts"]}
                         >= {"params_promoted", "params_rolled_back", "proposal_rejected"},
                         20, "alerts stored")  # fmt: skip
    assert alerted


def tradctl_user() -> str:
    from tradd.control.proposals_cli import requested_by

    return requested_by()
