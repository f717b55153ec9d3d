"""Optimize and walk-forward jobs through the API: the real app, real databases (SQLite
and PostgreSQL) and real `tradd optimize` / `tradd walkforward` processes."""

from __future__ import annotations

import csv
import io
import json
import tomllib
from typing import Any

from tests.fixtures.web import Console
from tests.web.support import finished

OPTIMIZE = {"strategy": "strategies.sma_cross.SmaCross", "symbols": ["GOOG"],
            "start_date": "2011-01-03", "end_date": "2011-12-30",
            "params": {"fast": "5:15:5", "slow": [20, 40]}}  # fmt: skip
WALKFORWARD = {**OPTIMIZE, "start_date": "2010-01-04", "is_months": 6, "oos_months": 6,
               "params": {"fast": [5, 15], "slow": "20:40:20"}}  # fmt: skip


def test_an_optimize_job_answers_results_heatmap_and_downloads(console: Console) -> None:
    alice = console.client("alice")
    reply = alice.post("/api/v1/jobs/optimize", json=OPTIMIZE)
    assert reply.status_code == 202, reply.text
    job_id = reply.json()["job_id"]
    assert job_id.startswith("optimize-") and reply.json()["kind"] == "optimize"
    status = finished(alice, job_id)
    assert status["status"] == "completed", status
    assert status["progress"] == 100.0 and status["done"] == status["total"] == 6
    run = console.ctx.runs.get(job_id)  # the job IS the run, as `tradd runs show` sees it
    assert run is not None and run.kind == "optimize" and run.status == "complete"

    results = alice.get(f"/api/v1/jobs/{job_id}/results").json()
    assert results["status"] == "completed" and results["objective"] == "sharpe"
    board = results["leaderboard"]
    assert len(board) == 6 and [r["rank"] for r in board] == list(range(1, 7))
    assert results["best_params"] == board[0]["params"]
    assert results["best_value"] == max(r["objective"] for r in board)
    assert results["varying"] == ["fast", "slow"]
    heat = results["heatmap"]
    assert (heat["x"], heat["y"], heat["x_values"], heat["y_values"]) == (
        "fast", "slow", [5, 10, 15], [20, 40])  # fmt: skip
    best = results["best_params"]
    cell = heat["cells"][heat["y_values"].index(best["slow"])][heat["x_values"].index(best["fast"])]
    assert cell == results["best_value"]
    swapped = alice.get(f"/api/v1/jobs/{job_id}/results", params={"x": "slow", "y": "fast"})
    assert swapped.json()["heatmap"]["x_values"] == [20, 40]
    bad_axis = alice.get(f"/api/v1/jobs/{job_id}/results", params={"x": "threshold"})
    assert bad_axis.status_code == 422 and bad_axis.json()["detail"].startswith("x: 'threshold'")
    overfitting = results["overfitting"]
    assert {"deflated_sharpe", "pbo"} <= set(overfitting["figures"])
    assert all(isinstance(w, str) and w for w in overfitting["warnings"])
    assert results["downloads"] == ["best.toml", "results.json", "results.csv", "report.html"]

    toml = alice.get(f"/api/v1/jobs/{job_id}/download/best.toml")
    assert toml.status_code == 200 and "attachment" in toml.headers["content-disposition"]
    assert tomllib.loads(toml.text)["params"] == best
    document = alice.get(f"/api/v1/jobs/{job_id}/download/results.json").json()
    assert document["best_params"] == best and document["trials"] == 6
    rows = list(
        csv.DictReader(io.StringIO(alice.get(f"/api/v1/jobs/{job_id}/download/results.csv").text))
    )
    assert len(rows) == 6 and {"fast", "slow", "objective"} <= set(rows[0])
    report = alice.get(f"/api/v1/jobs/{job_id}/download/report.html")
    assert report.headers["content-type"].startswith("text/html")
    assert (
        job_id in report.text and "Leaderboard" in report.text and "data:image/png" in report.text
    )
    assert alice.get(f"/api/v1/jobs/{job_id}/download/secrets.txt").status_code == 422
    live = alice.get(f"/api/v1/jobs/{job_id}/leaderboard").json()
    assert live["top"][0]["params"] == best and live["counts"]["complete"] == 6

    bob = console.client("bob")  # another trader: the job does not exist for him
    for path in ("", "/results", "/leaderboard", "/events", "/download/best.toml"):
        refused = bob.get(f"/api/v1/jobs/{job_id}{path}")
        assert refused.status_code == 404, (path, refused.text)
        assert refused.json()["detail"] == f"no job {job_id!r}"
    assert console.client("admin").get(f"/api/v1/jobs/{job_id}/results").status_code == 200


def test_a_walkforward_job_answers_windows_is_vs_oos_and_warnings(console: Console) -> None:
    alice = console.token_client("alice")  # a script: Bearer token, no CSRF
    reply = alice.post("/api/v1/jobs/walkforward", json=WALKFORWARD)
    assert reply.status_code == 202, reply.text
    job_id = reply.json()["job_id"]
    assert finished(alice, job_id)["status"] == "completed"
    results = alice.get(f"/api/v1/jobs/{job_id}/results").json()
    windows = results["windows"]
    assert [w["index"] for w in windows] == [0, 1, 2]
    chart = results["is_vs_oos"]
    assert chart["window"] == [0, 1, 2]
    assert chart["oos_sharpe"] == [w["oos_sharpe"] for w in windows]
    assert len(results["oos_equity"]["time"]) == len(results["oos_equity"]["equity"]) > 100
    assert {"avg_is_sharpe", "avg_oos_sharpe", "walk_forward_efficiency"} <= set(results["summary"])
    assert "pbo_mean" in results["overfitting"]["figures"] and results["overfitting"]["warnings"]
    assert results["best_params"] == windows[-1]["best_params"]
    best = tomllib.loads(alice.get(f"/api/v1/jobs/{job_id}/download/best.toml").text)
    assert best["params"] == windows[-1]["best_params"] and best["source"]["window"] == 2
    rows = alice.get(f"/api/v1/jobs/{job_id}/download/results.csv").text.splitlines()
    assert len(rows) == 4
    live = alice.get(f"/api/v1/jobs/{job_id}/leaderboard").json()
    assert [w["index"] for w in live["windows"]] == [0, 1, 2]


def test_bad_bodies_answer_422_naming_the_field(console: Console) -> None:
    alice = console.client("alice")
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("optimize", {"strategy": None}, "strategy"),
        ("optimize", {"strategy": "strategies.nope.Missing"}, "strategy: "),
        ("optimize", {"symbols": []}, "symbols"),
        ("optimize", {"symbols": ["NOPE"]}, "symbols: no 1d data for NOPE"),
        ("optimize", {"symbols": ["GOOG", "goog"]}, "symbols: Value error, repeated: GOOG"),
        ("optimize", {"params": {}}, "params"),
        ("optimize", {"params": {"bogus": "1:3:1"}}, "params: unknown parameter 'bogus'"),
        ("optimize", {"params": {"fast": "7.5:9:1"}}, "params: fast=7.5:9:1"),
        ("optimize", {"params": {"fast": 10}}, "params: nothing to optimize"),
        ("optimize", {"params": {"fast": "1:20000:1", "slow": "2:3:1"}}, "params: the grid has"),
        ("optimize", {"params": {"fast": [5, "a,b"]}}, "params"),
        ("optimize", {"method": "random"}, "method"),
        ("optimize", {"trials": 0}, "trials"),
        ("optimize", {"objective": "profit"}, "objective"),
        ("optimize", {"initial_capital": -5}, "initial_capital"),
        ("optimize", {"start_date": "2012-01-01"}, "start_date 2012-01-01 must be before"),
        ("optimize", {"end_date": "2011-13-01"}, "end_date"),
        ("optimize", {"surprise": 1}, "surprise"),
        ("walkforward", {"is_months": 0}, "is_months"),
        ("walkforward", {"mode": "sideways"}, "mode"),
        ("walkforward", {"is_months": 120}, "is_months: "),
    ]
    for kind, change, field in cases:
        body = {**(OPTIMIZE if kind == "optimize" else WALKFORWARD), **change}
        reply = alice.post(f"/api/v1/jobs/{kind}", json=body)
        assert reply.status_code == 422, (change, reply.text)
        assert reply.json()["detail"].startswith(field), (change, reply.json()["detail"])
        assert "Traceback" not in reply.text
    assert console.ctx.jobs.all_ids() == set()  # nothing was queued
    viewer = console.client("victor").post("/api/v1/jobs/optimize", json=OPTIMIZE)
    assert viewer.status_code == 403
    assert alice.get("/api/v1/jobs/optimize-20260101-abcdef").status_code == 404
    strategies = {s["strategy"]: s for s in alice.get("/api/v1/jobs/strategies").json()}
    params = {p["name"]: p for p in strategies["strategies.sma_cross.SmaCross"]["params"]}
    assert params["fast"] == {"name": "fast", "default": 10, "type": "int"}


def test_a_scan_job_has_no_research_results(console: Console) -> None:
    alice = console.client("alice")
    job = alice.post("/api/v1/optimizer/analyze", json={
        "symbols": ["GOOG"], "start_date": "2011-01-03", "end_date": "2011-03-30",
        "strategies": ["strategies.sma_cross.SmaCross"]}).json()["job_id"]  # fmt: skip
    reply = alice.get(f"/api/v1/jobs/{job}/results")
    assert reply.status_code == 409 and f"/api/v1/optimizer/results/{job}" in reply.json()["detail"]
    assert json.loads(alice.get(f"/api/v1/jobs/{job}").text)["kind"] == "scan"
    finished(alice, job)
