"""The specification's job API against the real app, database and job processes."""

from __future__ import annotations

from tests.fixtures.web import Console
from tests.web.support import finished

ANALYSIS = {"symbols": ["GOOG", "ORCL", "NVDA"], "start_date": "2011-01-03",
            "end_date": "2011-12-30",
            "strategies": ["strategies.sma_cross.SmaCross", "strategies.rsi.RsiReversion"]}  # fmt: skip


def test_an_analysis_runs_as_a_job_and_answers_ranked_results(console: Console) -> None:
    alice = console.client("alice")
    reply = alice.post("/api/v1/optimizer/analyze", json=ANALYSIS)
    assert reply.status_code == 202, reply.text
    job_id = reply.json()["job_id"]
    assert job_id.startswith("scan-")
    status = finished(alice, job_id)
    assert status["status"] == "completed", status
    assert status["progress"] == 100.0 and status["done"] == status["total"] == 6
    results = alice.get(f"/api/v1/optimizer/results/{job_id}").json()
    symbols = {r["symbol"]: r for r in results["results"]}
    assert set(symbols) == {"GOOG", "ORCL", "NVDA"}
    for entry in symbols.values():
        assert len(entry["strategies"]) == 2
        assert entry["best_strategy"] == entry["strategies"][0]["strategy"]
        assert {"composite_score", "total_return", "sharpe", "max_drawdown", "win_rate",
                "total_trades"} <= set(entry["strategies"][0])  # fmt: skip
    history = alice.get("/api/v1/optimizer/history").json()
    assert [j["job_id"] for j in history["jobs"]] == [job_id]
