"""Progress as Server-Sent Events: the real app streams a real job's progress, its live
leaderboard and a final event, then closes; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

from tests.fixtures.web import Console
from tests.web.test_jobs_api import OPTIMIZE


def events_of(client: Any, job_id: str) -> list[tuple[str, dict[str, Any]]]:
    """Every event of the job's stream, read until the server closes it."""
    events: list[tuple[str, dict[str, Any]]] = []
    with client.stream("GET", f"/api/v1/jobs/{job_id}/events") as reply:
        assert reply.status_code == 200
        assert reply.headers["content-type"].startswith("text/event-stream")
        name = None
        for line in reply.iter_lines():
            if line.startswith("event: "):
                name = line[len("event: ") :]
            elif line.startswith("data: ") and name is not None:
                events.append((name, json.loads(line[len("data: ") :])))
                name = None
    return events


def test_an_optimize_job_streams_progress_a_leaderboard_and_its_end(console: Console) -> None:
    alice = console.client("alice")
    body = {**OPTIMIZE, "method": "bayesian", "trials": 8, "seed": 7}
    job_id = alice.post("/api/v1/jobs/optimize", json=body).json()["job_id"]
    events = events_of(alice, job_id)
    names = [name for name, _ in events]
    assert names[-1] == "end" and names.count("end") == 1
    assert "progress" in names and "leaderboard" in names
    progress = [data for name, data in events if name == "progress"]
    assert all(p["job_id"] == job_id for p in progress)
    assert {p["status"] for p in progress} <= {"queued", "running"}
    assert [p["done"] for p in progress] == sorted(p["done"] for p in progress)
    final = events[-1][1]
    assert final["status"] == "completed" and final["progress"] == 100.0
    assert final["done"] == final["total"] == 8
    boards = [data for name, data in events if name == "leaderboard"]
    last = boards[-1]
    assert last["objective"] == "sharpe" and last["counts"]["complete"] == 8
    values = [row["objective"] for row in last["top"]]
    assert values == sorted(values, reverse=True) and len(last["top"]) <= 10
    results = alice.get(f"/api/v1/jobs/{job_id}/results").json()
    assert last["top"][0]["params"] == results["best_params"]
    assert last["top"][0]["objective"] == results["best_value"]
    # a finished job's stream: its last leaderboard, then its end, at once
    again = events_of(alice, job_id)
    assert [name for name, _ in again] == ["leaderboard", "end"]


def test_a_scan_job_streams_progress_only(console: Console) -> None:
    alice = console.token_client("alice")
    job_id = alice.post("/api/v1/optimizer/analyze", json={
        "symbols": ["GOOG", "ORCL"], "start_date": "2011-01-03", "end_date": "2011-06-30",
        "strategies": ["strategies.sma_cross.SmaCross"]}).json()["job_id"]  # fmt: skip
    events = events_of(alice, job_id)
    assert {name for name, _ in events} == {"progress", "end"}
    assert events[-1][1]["status"] == "completed" and events[-1][1]["total"] == 2
    # the specification's polling says the same
    assert alice.get(f"/api/v1/optimizer/status/{job_id}").json()["status"] == "completed"


def test_another_users_or_an_unknown_job_has_no_stream(console: Console) -> None:
    alice, bob = console.client("alice"), console.client("bob")
    job_id = alice.post("/api/v1/optimizer/analyze", json={
        "symbols": ["GOOG"], "start_date": "2011-01-03", "end_date": "2011-02-28",
        "strategies": ["strategies.sma_cross.SmaCross"]}).json()["job_id"]  # fmt: skip
    assert bob.get(f"/api/v1/jobs/{job_id}/events").status_code == 404
    assert alice.get("/api/v1/jobs/scan-20260101-abcdef/events").status_code == 404
    assert console.client().get(f"/api/v1/jobs/{job_id}/events").status_code == 401
    assert events_of(alice, job_id)[-1][0] == "end"
