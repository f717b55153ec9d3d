"""Compare jobs through the API: the real app, real databases (SQLite and PostgreSQL) and
real `tradd compare` processes, the console's and one started from the command line."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from tests.fixtures.web import Console
from tests.web.support import tradd
from tests.web.test_sse import events_of

SMA = "strategies.sma_cross.SmaCross"
RSI = "strategies.rsi.RsiReversion"
COMPARE = {"strategies": [SMA, RSI, SMA], "symbols": ["GOOG"], "start_date": "2011-01-03",
           "end_date": "2011-12-30", "params": [{"fast": 5, "slow": 40}, None],
           "initial_capital": 50_000}  # fmt: skip
"""SmaCross with fixed parameters, RsiReversion and SmaCross with their defaults."""


def test_a_compare_job_streams_ranks_tests_charts_and_downloads(console: Console) -> None:
    alice = console.client("alice")
    reply = alice.post("/api/v1/jobs/compare", json=COMPARE)
    assert reply.status_code == 202, reply.text
    job_id = reply.json()["job_id"]
    assert job_id.startswith("compare-") and reply.json()["kind"] == "compare"
    events = events_of(alice, job_id)  # until the job ends: progress, leaderboard, end
    final = events[-1][1]
    assert events[-1][0] == "end" and final["status"] == "completed", final
    assert final["done"] == final["total"] == 3 and final["progress"] == 100.0
    boards = [data for name, data in events if name == "leaderboard"]
    assert boards and boards[-1]["objective"] == "sharpe"
    assert boards[-1]["counts"]["complete"] == 3
    run = console.ctx.runs.get(job_id)  # the job IS the run, as `tradd runs show` sees it
    assert run is not None and (run.kind, run.status) == ("compare", "complete")
    assert run.output is not None and run.output.endswith("comparison.html")
    assert run.request["strategies"] == [SMA, RSI, SMA]

    results = alice.get(f"/api/v1/jobs/{job_id}/results").json()
    assert (results["kind"], results["status"], results["objective"]) == (
        "compare", "completed", "sharpe")  # fmt: skip
    view = results["comparison"]
    rows = view["strategies"]
    assert [r["rank"] for r in rows] == [1, 2, 3]
    assert sorted(r["label"] for r in rows) == ["RsiReversion", "SmaCross #1", "SmaCross #2"]
    sharpes = [r["metrics"]["sharpe"] for r in rows]
    assert sharpes == sorted(sharpes, reverse=True)
    by_label = {r["label"]: r for r in rows}
    assert by_label["SmaCross #1"]["params"] == {"fast": 5, "slow": 40, "threshold": 0.0}
    assert by_label["SmaCross #1"]["params_from"].endswith("params-1.toml")
    assert by_label["SmaCross #2"]["params"]["fast"] == 10  # the default
    assert by_label["RsiReversion"]["params_from"] is None
    assert [r["params"]["strategy"] for r in boards[-1]["top"]] == [r["label"] for r in rows]
    assert [(r["params"]["strategy"], r["objective"]) for r in results["leaderboard"]] == [
        (r["label"], r["metrics"]["sharpe"]) for r in rows]  # fmt: skip
    assert results["best_value"] == sharpes[0] and results["strategy"] == rows[0]["strategy"]
    assert [(t["first"], t["second"]) for t in view["tests"]] == [
        (rows[0]["label"], rows[1]["label"]), (rows[0]["label"], rows[2]["label"]),
        (rows[1]["label"], rows[2]["label"])]  # fmt: skip
    assert all("5% level" in t["reading"] for t in view["tests"])
    equity = view["equity"]
    assert len(equity["time"]) == view["days"] > 200
    for row in rows:  # the curve ends where the backtest did
        curve = equity[row["label"]]
        assert len(curve) == len(equity["time"])
        assert curve[-1] == pytest.approx(row["metrics"]["final_value"], rel=1e-9)
    assert view["initial_cash"] == 50_000.0
    assert alice.get(f"/api/v1/jobs/{job_id}/results", params={"x": "fast"}).status_code == 422
    _downloads(alice, job_id, results, rows)

    bob = console.client("bob")  # another trader: the job does not exist for him
    for path in ("", "/results", "/leaderboard", "/events", "/download/results.json"):
        refused = bob.get(f"/api/v1/jobs/{job_id}{path}")
        assert refused.status_code == 404, (path, refused.text)
        assert refused.json()["detail"] == f"no job {job_id!r}"
    _cli_compare_in_the_console(console)


def _downloads(client: Any, job_id: str, results: dict[str, Any], rows: list[Any]) -> None:
    assert results["downloads"] == ["results.json", "results.csv", "report.html"]
    document = client.get(f"/api/v1/jobs/{job_id}/download/results.json").json()
    assert [s["label"] for s in document["strategies"]] == [r["label"] for r in rows]
    returns = client.get(f"/api/v1/jobs/{job_id}/download/results.csv")
    assert "attachment" in returns.headers["content-disposition"]
    table = list(csv.reader(io.StringIO(returns.text)))
    assert table[0] == ["period_end", *(r["label"] for r in rows)]
    assert len(table) - 1 == document["days"]
    report = client.get(f"/api/v1/jobs/{job_id}/download/report.html")
    assert report.headers["content-type"].startswith("text/html")
    assert "Strategy comparison on GOOG" in report.text and "data:image/png" in report.text
    best = client.get(f"/api/v1/jobs/{job_id}/download/best.toml")
    assert best.status_code == 404 and "no best parameters" in best.json()["detail"]
    live = client.get(f"/api/v1/jobs/{job_id}/leaderboard").json()
    assert live["counts"] == {"complete": 3} and len(live["top"]) == 3


def _cli_compare_in_the_console(console: Console) -> None:
    """A `tradd compare` typed in a terminal is a run under its `--run-id`: an admin sees
    it in the history and reads its results from the report it names."""
    run_id = "compare-20261207-c0ffee"
    report = console.config.parent / "results" / "mine.html"
    done = tradd(console, "compare", "--strategies", f"{SMA},{RSI}", "--symbols", "GOOG",
                 "--start", "2011-01-03", "--end", "2011-06-30", "--workers", "1",
                 "--output", str(report), "--run-id", run_id)  # fmt: skip
    assert done.code == 0, done.stderr
    assert f"run {run_id} (tradd runs show {run_id})" in done.stdout
    run = console.ctx.runs.get(run_id)
    assert run is not None and (run.kind, run.status, run.output) == (
        "compare", "complete", str(report))  # fmt: skip
    assert (run.progress_done, run.progress_total) == (2, 2)
    assert run.summary is not None and run.summary["best"] in ("SmaCross", "RsiReversion")
    assert (report.parent / "mine.leaderboard.json").exists()  # named after the report
    admin = console.client("admin")
    history = admin.get("/api/v1/optimizer/history").json()["jobs"]
    mine = [j for j in history if j["job_id"] == run_id]
    assert len(mine) == 1 and (mine[0]["kind"], mine[0]["owner"]) == ("compare", None)
    results = admin.get(f"/api/v1/jobs/{run_id}/results").json()
    assert [r["label"] for r in results["comparison"]["strategies"]] == run.summary["ranking"]
    assert results["downloads"] == ["results.json", "results.csv", "report.html"]
    assert console.client("alice").get(f"/api/v1/jobs/{run_id}").status_code == 404


def test_bad_compare_bodies_answer_422_naming_the_field(console: Console) -> None:
    alice = console.client("alice")
    cases: list[tuple[dict[str, Any], str]] = [
        ({"strategies": [SMA]}, "strategies"),
        ({"strategies": [SMA, "strategies.nope.Missing"]}, "strategies: "),
        ({"strategies": [SMA, "<script>"]}, "strategies"),
        ({"symbols": []}, "symbols"),
        ({"symbols": ["NOPE"]}, "symbols: no 1d data for NOPE"),
        ({"symbols": ["GOOG", "goog"]}, "symbols: Value error, repeated: GOOG"),
        ({"params": [{}, {}, {}, {}]}, "params: 4 entries for 3 strategies"),
        ({"params": [{"bogus": 1}]}, f"params[0]: {SMA} has no parameter 'bogus'"),
        ({"params": [None, {"period": "x"}]}, "params[1]: period = 'x' is not a valid int"),
        ({"params": [{"fast": 80}]}, f"params[0]: invalid parameters for {SMA}: "),
        ({"params": [{"fast": [5, 10]}]}, "params"),
        ({"initial_capital": -5}, "initial_capital"),
        ({"warmup": -1}, "warmup"),
        ({"start_date": "2012-01-01"}, "start_date 2012-01-01 must be before end_date"),
        ({"end_date": "2011-13-01"}, "end_date"),
        ({"format": "pdf"}, "format"),
    ]
    for change, field in cases:
        reply = alice.post("/api/v1/jobs/compare", json={**COMPARE, **change})
        assert reply.status_code == 422, (change, reply.text)
        assert reply.json()["detail"].startswith(field), (change, reply.json()["detail"])
        assert "Traceback" not in reply.text
    assert console.ctx.jobs.all_ids() == set()  # nothing was queued
    viewer = console.client("victor").post("/api/v1/jobs/compare", json=COMPARE)
    assert viewer.status_code == 403
