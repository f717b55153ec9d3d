"""`GET /api/v1/live/drift` and the live page's attribution card: today's attribution per
strategy from the ledger, the latest drift result, and the unexplained account line (no
daemon needed: the console reads the database), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from tests.alerts.test_summary import fill
from tests.fixtures.web import Console
from tradd.persistence.drift_results import DriftResults, NewDriftResult
from tradd.persistence.ledger import Ledger

EASTERN = ZoneInfo("US/Eastern")
NOW = datetime(2026, 12, 1, 15, 0, tzinfo=EASTERN)
STRATEGIES = [
    {"name": name, "strategy": "tests.worker.strategies.Scripted", "symbols": ["GOOG"],
     "client_id": i + 1}
    for i, name in enumerate(("alpha", "beta"))
]  # fmt: skip


def test_drift_and_todays_attribution_per_strategy(console_factory: Any) -> None:
    console: Console = console_factory(
        clock=lambda: NOW, strategies=STRATEGIES,
        alerts={"summary": {"timezone": "US/Eastern"}},
    )  # fmt: skip
    sessions = console.ctx.database
    alpha = Ledger(sessions, "alpha")
    alpha.snapshot_equity(net_liquidation=100_000.0, at=datetime(2026, 12, 1, 9, tzinfo=EASTERN))
    fill(alpha, "BUY", 10, 100.0, datetime(2026, 12, 1, 10, tzinfo=EASTERN), 1.0, None)
    fill(alpha, "SELL", 10, 104.0, datetime(2026, 12, 1, 11, tzinfo=EASTERN), 1.0, 38.0)
    fill(alpha, "BUY", 10, 100.0, datetime(2026, 11, 30, 11, tzinfo=EASTERN), 1.0, None)
    alpha.snapshot_equity(net_liquidation=100_000.0, unrealized_pnl=-5.0,
                          at=datetime(2026, 11, 30, 16, tzinfo=EASTERN))  # fmt: skip
    alpha.snapshot_equity(net_liquidation=100_050.0, unrealized_pnl=15.0,
                          at=datetime(2026, 12, 1, 14, tzinfo=EASTERN))  # fmt: skip
    DriftResults(sessions, lambda: NOW).add(NewDriftResult(
        "alpha", "run-1", date(2026, 11, 24), date(2026, 11, 30), live_pnl=900.0,
        replay_pnl=1_000.0, components={"signal": -20.0, "slippage": -80.0},
        report_path="/reports/alpha.html", starting_equity=100_000.0))  # fmt: skip

    anonymous = console.client().get("/api/v1/live/drift")
    assert anonymous.status_code == 401
    reply = console.client("victor").get("/api/v1/live/drift")  # a viewer
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["day"] == "2026-12-01" and body["timezone"] == "US/Eastern"
    by_name = {s["name"]: s for s in body["strategies"]}
    a, b = by_name["alpha"], by_name["beta"]
    # alpha held 10 from yesterday (unrealized -5), bought 10 more and sold 10 today
    # (gross 10 x 4 = 40 on its average cost of 100), unrealized now 15
    assert a["today"] == {
        "trades": 2, "realized_pnl": 40.0, "commission": 2.0, "unrealized_start": -5.0,
        "unrealized_end": 15.0, "unrealized_change": 20.0, "net_pnl": 58.0,
    }  # fmt: skip
    assert a["drift"]["drift_pct"] == -0.1 and a["drift"]["drift_pnl"] == -100.0
    assert a["drift"]["largest_cause"] == "slippage" and a["drift"]["alerted"] is False
    assert a["drift"]["components"] == {"signal": -20.0, "slippage": -80.0}
    assert a["drift"]["line"] == ("drift alpha -0.10% (-100.00; slippage -80.00, signal -20.00)"
                                  " 2026-11-24..11-30")  # fmt: skip
    assert b["drift"] is None and b["today"]["trades"] == 0 and b["today"]["net_pnl"] == 0.0
    assert body["account"] == {
        "net_liquidation_start": 100_000.0, "net_liquidation_end": 100_050.0, "pnl": 50.0,
        "strategies_pnl": 58.0, "unexplained": -8.0,
    }  # fmt: skip


def test_the_live_page_has_the_attribution_card(console: Console) -> None:
    client = console.client()
    page = client.get("/live")
    assert page.status_code == 200 and 'id="drift"' in page.text and 'id="unexplained"' in page.text
    script = client.get("/static/live.js").text
    assert "/api/v1/live/drift" in script and "not explained by the strategies" in script
    schema = client.get("/api/v1/openapi.json").json()
    assert "LiveDrift" in schema["components"]["schemas"]
