"""`tradd scan --execute --from-run` on a fake control socket: the stored scan's size, and
a repeat that resends the first request (same ref, same value) and never a done entry."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tradd.persistence.db import open_database
from tradd.research.runs import RunRecord, RunStore

from .conftest import FakeDaemon, Tradd, environment

SMA = "strategies.sma_cross.SmaCross"


def fleet(equity: float) -> list[dict[str, Any]]:
    return [{"name": "s1", "strategy_class": SMA, "symbols": ["GOOG", "ORCL"],
             "state": "RUNNING", "worker": {"equity": equity, "positions": {}}}]  # fmt: skip


def stored_scan(tmp_path: Path) -> str:
    """A complete scan, as `tradd scan --execute --position-pct 5` would have stored it."""
    engine, sessions = open_database(environment(tmp_path)["TRADD_DATABASE__URL"])
    try:
        store = RunStore(sessions, lambda: datetime.now(UTC))
        request = {"symbols": ["GOOG", "ORCL"], "max_position_pct": 20.0, "position_pct": 5.0}
        run_id = store.start("scan", request, tmp_path / "scan")
        best = {s: {"strategy": SMA, "composite_score": 40.0} for s in ("GOOG", "ORCL")}
        store.finish(run_id, "complete", {"best": best})
    finally:
        engine.dispose()
    return run_id


def stored(tmp_path: Path, run_id: str) -> RunRecord:
    engine, sessions = open_database(environment(tmp_path)["TRADD_DATABASE__URL"])
    try:
        run = RunStore(sessions, lambda: datetime.now(UTC)).get(run_id)
    finally:
        engine.dispose()
    assert run is not None
    return run


def test_a_repeated_execution_of_a_run_sends_the_same_request_and_not_a_done_one(
    tradd: Tradd, fake_daemon: FakeDaemon, tmp_path: Path
) -> None:
    run_id = stored_scan(tmp_path)
    fake_daemon.fleet = fleet(50_000.0)
    fake_daemon.answers = {"GOOG": "lost"}
    execute = ("scan", "--execute", "--from-run", run_id, "--socket", str(fake_daemon.path))
    code, _, err = tradd(*execute)
    assert code == 1, err  # GOOG failed: its answer was lost
    first = json.loads((tmp_path / "scan" / "execution.json").read_text())
    assert first["position_pct"] == 5.0  # the scan's --position-pct, not its 20% sizing
    goog, orcl = first["rows"]
    assert (goog["status"], orcl["status"]) == ("failed", "executed")
    assert "may have been placed" in goog["reason"]
    assert [(e["symbol"], e["value"]) for e in fake_daemon.entries()] == [
        ("GOOG", 2500.0), ("ORCL", 2500.0),
    ]  # fmt: skip
    entries = stored(tmp_path, run_id).summary["entries"]  # type: ignore[index]
    assert entries["GOOG"] == {"position_pct": 5.0, "value": 2500.0, "status": "failed",
                               "order_ref": None}  # fmt: skip
    assert entries["ORCL"]["status"] == "executed" and entries["ORCL"]["order_ref"] == "s1-2"

    fake_daemon.fleet = fleet(80_000.0)  # the market moved; ORCL not filled yet
    fake_daemon.answers = {}
    code, _, err = tradd(*execute)
    assert code == 0, err
    again = {r["symbol"]: r for r in json.loads((tmp_path / "scan" / "execution.json")
                                                 .read_text())["rows"]}  # fmt: skip
    assert again["GOOG"]["status"] == "executed" and again["ORCL"]["status"] == "skipped"
    assert again["ORCL"]["reason"] == "already entered by this run (order s1-2): not sent again"
    goog_first, _, goog_again = fake_daemon.entries()  # ORCL is never sent twice
    assert goog_again == goog_first  # same client_ref and value: the worker's first reply
    assert goog_again["client_ref"] == f"{run_id}:GOOG"
    summary = stored(tmp_path, run_id).summary or {}
    assert summary["entries"]["GOOG"]["status"] == "executed"
    assert summary["entries"]["ORCL"]["order_ref"] == "s1-2"  # kept from the first execution
    assert [r["status"] for r in summary["execution"]["rows"]] == ["executed", "skipped"]
