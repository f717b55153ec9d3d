"""The live API against the real daemon on the simulator: status as `tradctl status`
shows it, pause, resume and flatten named by the console's user in the daemon's events
and alerts and in the audit, the roles, and a daemon that is down (503, nothing sent)."""

from __future__ import annotations

import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.fixtures.daemon import daemon_document
from tests.fixtures.simulator import eventually, strategy_entry
from tests.fixtures.web import Console
from tradd.persistence.db import open_database
from tradd.persistence.models_web import AuditRow
from tradd.persistence.transactions import write_transaction

NOT_RUNNING = "daemon not running: nothing sent"


def audit(console: Console) -> list[dict[str, Any]]:
    reply = console.client("admin").get("/api/v1/audit")
    assert reply.status_code == 200, reply.text
    entries: list[dict[str, Any]] = reply.json()["entries"]
    return entries


def test_with_the_daemon_down_every_live_call_is_503_and_audited(console: Console) -> None:
    alice, admin = console.client("alice"), console.client("admin")
    calls = [
        alice.get("/api/v1/live/strategies"), alice.get("/api/v1/live/events?since=3"),
        alice.get("/api/v1/live/alerts"), alice.post("/api/v1/live/strategies/s1/pause"),
        alice.post("/api/v1/live/strategies/s1/resume"),
        alice.post("/api/v1/live/strategies/s1/flatten", json={"confirm": True}),
        admin.post("/api/v1/live/flatten", json={"confirm": True}),
    ]  # fmt: skip
    for reply in calls:
        assert reply.status_code == 503, reply.text
        assert reply.json()["detail"].startswith(NOT_RUNNING)
    rows = audit(console)
    assert [(r["user"], r["action"], r["ok"]) for r in rows] == [
        ("admin", "flatten", False), ("alice", "flatten", False), ("alice", "resume", False),
        ("alice", "pause", False),
    ]  # fmt: skip
    assert rows[0]["request"] == {"all": True, "requested_by": "web:admin"}
    assert rows[3]["request"] == {"strategy": "s1", "requested_by": "web:alice"}
    assert rows[3]["result"]["error"].startswith(NOT_RUNNING)


def test_the_audit_filters_by_action_in_the_database_however_old_the_entry(
    console: Console,
) -> None:
    console.ctx.audit.record("admin", "flatten", {"all": True}, {"ok": True}, ok=True)
    at = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)
    engine, sessions = open_database(console.settings.database_url())
    try:  # more pauses after it than the most a page shows (1000)
        with write_transaction(sessions) as session:
            session.add_all(AuditRow(at=at + timedelta(seconds=i), user="alice", action="pause",
                                     request={"strategy": "s1"}, result={}, ok=True)
                            for i in range(1001))  # fmt: skip
    finally:
        engine.dispose()
    admin = console.client("admin")
    (flatten,) = admin.get("/api/v1/audit?action=flatten&limit=5").json()["entries"]
    assert (flatten["user"], flatten["request"], flatten["ok"]) == ("admin", {"all": True}, True)
    pauses = admin.get("/api/v1/audit?action=pause&limit=3").json()["entries"]
    assert [p["at"][:19] for p in pauses] == ["2026-01-05T15:16:40", "2026-01-05T15:16:39",
                                              "2026-01-05T15:16:38"]  # fmt: skip
    assert len(admin.get("/api/v1/audit?limit=1000").json()["entries"]) == 1000
    assert admin.get("/api/v1/audit?action=resume").json()["entries"] == []


def test_roles_and_bad_input_are_refused_before_anything_is_sent(console: Console) -> None:
    victor, alice = console.client("victor"), console.client("alice")
    for path in ("strategies/s1/pause", "strategies/s1/resume"):
        reply = victor.post(f"/api/v1/live/{path}")
        assert reply.status_code == 403 and "trader" in reply.json()["detail"]
    flatten = victor.post("/api/v1/live/strategies/s1/flatten", json={"confirm": True})
    assert flatten.status_code == 403
    refused = alice.post("/api/v1/live/flatten", json={"confirm": True})
    assert refused.status_code == 403 and "admin" in refused.json()["detail"]
    assert alice.get("/api/v1/audit").status_code == 403
    unconfirmed = alice.post("/api/v1/live/strategies/s1/flatten", json={"confirm": False})
    assert unconfirmed.status_code == 422 and "confirm" in unconfirmed.json()["detail"]
    missing = alice.post("/api/v1/live/strategies/s1/flatten", json={})
    assert missing.status_code == 422 and "confirm" in missing.json()["detail"]
    bad = alice.post("/api/v1/live/strategies/%3Cscript%3E/pause")
    assert bad.status_code == 422 and "name" in bad.json()["detail"]
    assert alice.get("/api/v1/live/events?since=-1").status_code == 422
    assert audit(console) == []  # nothing reached the daemon, nothing to audit


def test_pause_resume_and_flatten_through_the_api_against_the_daemon(
    tmp_path: Path, simulator: Any, database_url: str, start_daemon: Any, console_factory: Any
) -> None:
    entries = [strategy_entry("s1"), strategy_entry("s2", client_id=12, symbols=["ORCL"])]
    daemon = start_daemon(daemon_document(tmp_path, simulator, database_url, entries))
    daemon.wait_trading("s1")
    daemon.wait_trading("s2")
    console = console_factory(root=tmp_path / "console", control={"socket": str(daemon.socket)})
    alice, victor = console.client("alice"), console.client("victor")
    admin = console.client("admin")

    seen = victor.get("/api/v1/live/strategies")
    assert seen.status_code == 200, seen.text
    s1 = {s["name"]: s for s in seen.json()["strategies"]}["s1"]
    assert (s1["state"], s1["live"], s1["connection"], s1["trading_state"]) == (
        "RUNNING", True, "connected", "ACTIVE")  # fmt: skip
    assert s1["symbols"] == ["GOOG"] and s1["positions"] == {} and s1["ready"]
    assert {"pnl", "daily_pnl", "drawdown_pct", "bar_age", "equity"} <= set(s1)
    assert seen.json()["supervisor"]["ok"] is True

    paused = alice.post("/api/v1/live/strategies/s1/pause")
    assert paused.status_code == 200, paused.text
    assert paused.json() == {"strategy": "s1", "action": "pause", "trading_state": "REDUCING",
                             "reason": "paused by web:alice: exits only",
                             "requested_by": "web:alice"}  # fmt: skip

    def s1_now() -> dict[str, Any]:
        found = alice.get("/api/v1/live/strategies").json()["strategies"]
        return {s["name"]: s for s in found}["s1"]  # type: ignore[no-any-return]

    shown = eventually(lambda: (s := s1_now())["trading_state"] == "REDUCING" and s, 10,
                       "the next heartbeat shows the pause")  # fmt: skip
    assert shown["trading_reason"] == "paused by web:alice: exits only"
    resumed = alice.post("/api/v1/live/strategies/s1/resume")
    assert resumed.json()["trading_state"] == "ACTIVE"

    unknown = alice.post("/api/v1/live/strategies/nope/pause")
    assert unknown.status_code == 404 and "nope" in unknown.json()["detail"]

    flat = alice.post("/api/v1/live/strategies/s1/flatten", json={"confirm": True})
    assert flat.status_code == 200, flat.text
    body = flat.json()
    assert body["ok"] is True and body["requested_by"] == "web:alice"
    assert set(body["strategies"]) == {"s1"} and "ALL FLAT" in body["text"]
    halted = alice.post("/api/v1/live/strategies/s1/pause")  # halted: resume it first
    assert halted.status_code == 409 and "halted" in halted.json()["detail"]
    everything = admin.post("/api/v1/live/flatten", json={"confirm": True})
    assert everything.status_code == 200 and everything.json()["ok"] is True
    assert set(everything.json()["strategies"]) == {"s1", "s2"}

    events = alice.get("/api/v1/live/events").json()
    messages = [(e["kind"], e["message"]) for e in events["events"]]
    assert ("paused", "s1 paused by web:alice") in messages
    assert ("resumed", "s1 resumed by web:alice") in messages
    flattens = [m for k, m in messages if k == "flatten"]
    assert flattens == ["flatten s1 requested by web:alice: confirmed flat",
                        "flatten --all requested by web:admin: confirmed flat"]  # fmt: skip
    newer = alice.get(f"/api/v1/live/events?since={events['next_since']}").json()
    assert newer["events"] == [] and newer["next_since"] == events["next_since"]

    flatten_all = "flatten: flatten --all requested by web:admin: confirmed flat"

    def alerted() -> list[str] | None:
        found = alice.get("/api/v1/live/alerts?limit=50").json()["alerts"]
        subjects = [a["subject"] for a in found]
        return subjects if flatten_all in subjects else None

    # Both flattens alerted, though the second came within the dedup window of the first.
    subjects = eventually(alerted, 20, "the daemon's alerts")
    assert {"s1: paused: s1 paused by web:alice", "s1: resumed: s1 resumed by web:alice",
            "flatten: flatten s1 requested by web:alice: confirmed flat",
            "s2: flatten: flatten requested by web:admin"} <= set(subjects)  # fmt: skip

    rows = audit(console)
    assert [(r["user"], r["action"], r["ok"]) for r in rows] == [
        ("admin", "flatten", True), ("alice", "pause", False), ("alice", "flatten", True),
        ("alice", "pause", False), ("alice", "resume", True), ("alice", "pause", True),
    ]  # fmt: skip
    assert rows[1]["result"]["error"].endswith("(conflict)")
    assert rows[3]["result"]["error"].endswith("(unknown_strategy)")
    assert rows[2]["result"]["strategies"]["s1"]["ok"] is True

    daemon.proc.send_signal(signal.SIGTERM)
    assert daemon.proc.wait(60) == 0
    down = alice.post("/api/v1/live/strategies/s1/resume")
    assert down.status_code == 503 and down.json()["detail"].startswith(NOT_RUNNING)
    assert alice.get("/api/v1/live/strategies").status_code == 503
    assert audit(console)[0]["action"] == "resume" and audit(console)[0]["ok"] is False
