"""`POST /api/v1/optimizer/execute` against the real daemon on the simulator: the best
strategy of each symbol entered, blocked by its risk rule or failed, never twice; the
entries name the console's user and job in the daemon; audited; each entry alerted once
(the worker's `operator_entry`), a blocked one by the console's webhook."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.daemon import daemon_document
from tests.fixtures.simulator import eventually, strategy_entry
from tests.web.support import finished
from tests.worker.conftest import sim_ledger

PROFIT = "tests.research.scan.strategies.TakesAProfit"
"""In the scan one winning trade per symbol (eligible); live it never acts, so every
order the simulator sees is the console's."""
ANALYSIS = {"symbols": ["GOOG", "ORCL", "NVDA"], "strategies": [PROFIT],
            "start_date": "2012-10-01", "end_date": "2012-12-31"}  # fmt: skip


def test_execute_enters_blocks_and_fails_per_symbol_and_never_twice(
    tmp_path: Path, simulator: Any, database_url: str, start_daemon: Any,
    console_factory: Any, webhook_server: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    entries = [
        strategy_entry("s1", strategy=PROFIT, bar="1d"),  # GOOG
        strategy_entry("s2", strategy=PROFIT, bar="1d", client_id=12, symbols=["ORCL"],
                       risk={"max_order_value": {"limit": 100, "action": "BLOCK"}}),
    ]  # fmt: skip
    daemon = start_daemon(daemon_document(tmp_path, simulator, database_url, entries))
    equity = daemon.wait_trading("s1")["worker"]["equity"]
    daemon.wait_trading("s2")
    monkeypatch.setenv("TRADD_ALERTS__WEBHOOK__URL", webhook_server.url)
    alerts = {"routes": {"info": ["webhook"], "warning": ["webhook"]}, "retry_initial": 0.1,
              "retry_max": 0.5, "summary": {"enabled": False},
              "webhook": {"enabled": True, "timeout": 5.0}}  # fmt: skip
    console = console_factory(root=tmp_path / "console", control={"socket": str(daemon.socket)},
                              alerts=alerts)  # fmt: skip
    alice, victor = console.client("alice"), console.client("victor")
    job_id = alice.post("/api/v1/optimizer/analyze", json=ANALYSIS).json()["job_id"]
    assert finished(alice, job_id)["status"] == "completed"

    body = {"job_id": job_id, "position_pct": 5, "allow_stale": True}
    assert victor.post("/api/v1/optimizer/execute", json=body).status_code == 403
    reply = alice.post("/api/v1/optimizer/execute", json=body)
    assert reply.status_code == 200, reply.text
    rows = {r["symbol"]: r for r in reply.json()["results"]}
    goog, orcl, nvda = rows["GOOG"], rows["ORCL"], rows["NVDA"]
    assert goog["outcome"] == "executed" and goog["daemon_strategy"] == "s1"
    assert goog["order_ref"] == "s1-1"
    assert goog["requested_value"] == round(equity * 0.05, 2) and goog["shares"] > 0
    assert (orcl["outcome"], orcl["daemon_strategy"]) == ("blocked", "s2")
    assert [r["rule"] for r in orcl["rules"]] == ["MAX_ORDER_VALUE"]
    assert orcl["rules"][0]["limit"] == 100
    assert (nvda["outcome"], nvda["reason"]) == (
        "failed", "no strategy in the daemon runs TakesAProfit on NVDA")  # fmt: skip

    again = alice.post("/api/v1/optimizer/execute", json={**body, "symbols": ["GOOG"]})
    (skipped,) = again.json()["results"]
    assert skipped["outcome"] == "skipped", skipped  # working orders, or entered by this run
    simulator.call(simulator.gw.advance, 60)
    eventually(lambda: sim_ledger(simulator, "s")["positions"] == {"GOOG": goog["shares"]}, 20,
               "filled")  # fmt: skip
    assert sim_ledger(simulator, "s")["orders"] == ["s1-1"]  # nothing else was ever placed

    who = f"web:alice (job {job_id})"
    admin = console.client("admin")

    def entry_alert() -> list[dict[str, Any]] | None:
        found = admin.get("/api/v1/live/alerts?limit=50").json()["alerts"]
        return [a for a in found if a["kind"] == "operator_entry"] or None

    eventually(entry_alert, 20, "the worker's alert of the entry")
    # One execute entered GOOG: one alert of it (the worker's), naming the user and job.
    found = admin.get("/api/v1/live/alerts?limit=50").json()["alerts"]
    goog_entries = [a for a in found if who in a["subject"] and "GOOG" in a["subject"]]
    (operator,) = goog_entries
    assert operator["kind"] == "operator_entry" and operator["strategy"] == "s1"
    assert f"operator entry by {who}: BUY" in operator["subject"]
    assert "s1-1" in operator["subject"]

    payloads = webhook_server.wait_for(2, 20)
    kinds = {p.json()["kind"]: p.json() for p in payloads}
    assert set(kinds) == {"analysis_complete", "entry_blocked"}
    blocked = kinds["entry_blocked"]
    assert who in blocked["subject"] and "MAX_ORDER_VALUE (value" in blocked["subject"]
    assert blocked["strategy"] == "s2" and blocked["data"]["symbol"] == "ORCL"
    assert "alice" in kinds["analysis_complete"]["subject"]

    audit = admin.get("/api/v1/audit?action=execute").json()["entries"]
    assert [(e["user"], e["ok"]) for e in audit] == [("alice", True), ("alice", False)]
    assert audit[1]["request"]["request"]["job_id"] == job_id  # the first: NVDA failed
    outcomes = [r["outcome"] for r in audit[1]["result"]["results"]]
    assert sorted(outcomes) == ["blocked", "executed", "failed"]


def test_execute_with_the_daemon_down_answers_503_and_sends_nothing(console: Any) -> None:
    alice = console.client("alice")
    analysis = {**ANALYSIS, "symbols": ["GOOG"]}
    job_id = alice.post("/api/v1/optimizer/analyze", json=analysis).json()["job_id"]
    assert finished(alice, job_id)["status"] == "completed"
    reply = alice.post("/api/v1/optimizer/execute", json={"job_id": job_id, "allow_stale": True})
    assert reply.status_code == 503 and reply.json()["detail"] == "daemon not running: nothing sent"
    (entry,) = console.client("admin").get("/api/v1/audit").json()["entries"]
    assert (entry["user"], entry["action"], entry["ok"]) == ("alice", "execute", False)
    assert entry["result"] == {"error": "daemon not running: nothing sent"}
