"""What the optimizer and jobs pages ask besides the specification's endpoints, through
HTTP against the real app: the symbols with data, the strategy catalog, a scan row's
equity curve (kept by the scan in scan.json and by the backtest cache), and the pages."""

from __future__ import annotations

import json
from pathlib import Path

from tests.fixtures.web import Console
from tests.web.support import finished
from tests.web.test_optimizer_api import ANALYSIS

SMA = "strategies.sma_cross.SmaCross"
RSI = "strategies.rsi.RsiReversion"


def test_the_symbols_with_data_and_their_span(console: Console) -> None:
    victor = console.client("victor")  # a viewer reads
    body = victor.get("/api/v1/data/symbols").json()
    assert body["bar"] == "1d" and body["unreadable"] == {}
    spans = {s["symbol"]: s for s in body["symbols"]}
    assert set(spans) == {"GOOG", "NVDA", "ORCL", "YHOO"}  # the daily sample files only
    assert (spans["GOOG"]["first"], spans["GOOG"]["last"]) == ("2004-08-19", "2013-03-01")
    assert spans["GOOG"]["bars"] > 2000
    data = console.settings.data.dir
    (data / "BAD.1d.csv").write_text("not,a,bar,file\n")
    (data / "NEW.1d.csv").write_text(
        "datetime,open,high,low,close,volume\n2020-01-02,1,2,0.5,1.5,100\n"
        "2020-01-03,1.5,2,1,1.8,100\n"
    )
    again = victor.get("/api/v1/data/symbols").json()
    spans = {s["symbol"]: s for s in again["symbols"]}
    assert (spans["NEW"]["first"], spans["NEW"]["last"], spans["NEW"]["bars"]) == (
        "2020-01-02", "2020-01-03", 2,
    )  # fmt: skip
    assert set(again["unreadable"]) == {"BAD"} and "BAD" not in spans
    assert console.client().get("/api/v1/data/symbols").status_code == 401


def test_the_strategy_catalog_names_each_shipped_strategy_with_its_defaults(
    console: Console,
) -> None:
    alice = console.client("alice")
    body = alice.get("/api/v1/strategies").json()
    assert body["error"] is None
    by_path = {s["path"]: s for s in body["strategies"]}
    assert {SMA, RSI, "strategies.breakout.DonchianBreakout"} <= set(by_path)
    sma = by_path[SMA]
    assert sma["name"] == "SmaCross"
    assert sma["summary"] == (
        "Buy when the fast SMA rises above the slow SMA by more than `threshold`; sell when it "
        "falls below by more than `threshold`."
    )
    assert sma["params"] == {"fast": 10, "slow": 30, "threshold": 0.0}
    assert alice.get("/api/v1/strategies").json() == body  # the process' memo


def test_each_row_of_an_analysis_has_its_daily_equity_curve_also_from_the_cache(
    console: Console,
) -> None:
    alice = console.client("alice")
    job_id = alice.post("/api/v1/optimizer/analyze", json=ANALYSIS).json()["job_id"]
    assert finished(alice, job_id)["status"] == "completed"
    results = {
        r["symbol"]: r for r in alice.get(f"/api/v1/optimizer/results/{job_id}").json()["results"]
    }
    best = results["GOOG"]["best_strategy"]
    curve = alice.get(f"/api/v1/optimizer/equity/{job_id}/goog").json()
    assert (curve["symbol"], curve["strategy"], curve["best"]) == ("GOOG", best, True)
    assert curve["dates"][0] == "2011-01-03" and curve["dates"][-1] == "2011-12-30"
    assert len(curve["dates"]) == len(curve["values"]) == 252  # the trading days of 2011
    assert (curve["initial_capital"], curve["max_position_pct"]) == (100_000.0, 10.0)
    other = RSI if best == SMA else SMA
    second = alice.get(f"/api/v1/optimizer/equity/{job_id}/GOOG", params={"strategy": other})
    assert second.status_code == 200 and second.json()["best"] is False
    scan = json.loads((console.ctx.jobs_dir / job_id / "scan.json").read_text())
    row = next(r for r in scan["rows"] if (r["symbol"], r["strategy"]) == ("GOOG", best))
    assert row["equity"] == {"dates": curve["dates"], "values": curve["values"]}
    csv_header = (console.ctx.jobs_dir / job_id / "scan.csv").read_text().splitlines()[0]
    assert "equity" not in csv_header  # scan.csv keeps its columns
    again = alice.post("/api/v1/optimizer/analyze", json=ANALYSIS).json()["job_id"]
    assert finished(alice, again)["cache_hits"] == 6  # every row from the backtest cache
    cached = alice.get(f"/api/v1/optimizer/equity/{again}/GOOG").json()
    assert (cached["dates"], cached["values"]) == (curve["dates"], curve["values"])
    missing = alice.get(f"/api/v1/optimizer/equity/{job_id}/YHOO")
    assert missing.status_code == 404 and "YHOO" in missing.json()["detail"]
    unknown = alice.get(f"/api/v1/optimizer/equity/{job_id}/GOOG", params={"strategy": "x.Y"})
    assert unknown.status_code == 404 and "'x.Y'" in unknown.json()["detail"]
    bad = alice.get(f"/api/v1/optimizer/equity/{job_id}/<b>")
    assert bad.status_code == 422 and "symbol" in bad.json()["detail"]
    assert console.client("bob").get(f"/api/v1/optimizer/equity/{job_id}/GOOG").status_code == 404


def test_an_unfinished_analysis_has_no_curves(console_factory) -> None:  # type: ignore[no-untyped-def]
    console = console_factory(start_runner=False)  # the job stays queued
    alice = console.client("alice")
    job_id = alice.post("/api/v1/optimizer/analyze", json=ANALYSIS).json()["job_id"]
    reply = alice.get(f"/api/v1/optimizer/equity/{job_id}/GOOG")
    assert reply.status_code == 409 and "not a completed analysis" in reply.json()["detail"]


def test_the_pages_are_served_with_their_scripts_and_no_inline_code(console: Console) -> None:
    client = console.client()
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/svg+xml"
    for page in ("login", "optimizer", "jobs"):
        html = client.get(f"/{page}")
        assert html.status_code == 200 and "text/html" in html.headers["content-type"]
        assert "style=" not in html.text and "<script>" not in html.text
        for asset in (f"/static/{page}.js", "/static/common.js", "/static/app.css"):
            assert f'"{asset}"' in html.text
            assert client.get(asset).status_code == 200
    optimizer = client.get("/optimizer").text
    for asset in ("/static/optimizer.css", "/static/vendor/uplot/uPlot.iife.min.js",
                  "/static/vendor/uplot/uPlot.min.css"):  # fmt: skip
        assert f'"{asset}"' in optimizer and client.get(asset).status_code == 200
    scripts = Path(__file__).resolve().parents[2] / "tradd" / "web" / "static"
    for name in ("optimizer.js", "jobs.js"):
        assert "innerHTML" not in (scripts / name).read_text()  # text only, never markup
