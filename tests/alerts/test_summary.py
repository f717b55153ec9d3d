"""The daily summary: its schedule and its numbers, from fills persisted in the ledger."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from tradd.alerts.summary import SummarySchedule, summary_event
from tradd.config.alerts import SummarySettings
from tradd.persistence.drift_results import DriftResults, NewDriftResult
from tradd.persistence.ledger import Ledger
from tradd.persistence.records import FillRecord, NewOrder

TUESDAY = date(2026, 12, 1)


def at(hour: int, minute: int = 0, day: int = 1) -> datetime:
    """US/Eastern is UTC-5 in December."""
    return datetime(2026, 12, day, hour, minute, tzinfo=ZoneInfo("US/Eastern")).astimezone(UTC)


def test_schedule_is_once_per_trading_day_after_the_configured_time() -> None:
    schedule = SummarySchedule(SummarySettings(time=time(16, 30), timezone="US/Eastern"))
    assert schedule.due(at(16, 29)) is None
    assert schedule.due(at(16, 30)) == TUESDAY
    schedule.last_sent = TUESDAY
    assert schedule.due(at(23, 0)) is None
    assert schedule.due(at(16, 31, day=2)) == date(2026, 12, 2)
    assert schedule.due(at(17, 0, day=5)) is None  # Saturday
    assert SummarySchedule(SummarySettings(enabled=False)).due(at(17)) is None


def fill(ledger: Ledger, side: str, qty: float, price: float, when: datetime,
         commission: float, realized: float | None) -> None:  # fmt: skip
    [order] = ledger.create_orders([NewOrder("GOOG", side, qty, "MKT")])
    exec_id = f"e-{order.order_ref}"
    ledger.add_fill(FillRecord(exec_id, order.order_ref, "GOOG", side, qty, price, when))
    ledger.set_commission(exec_id, commission, realized)


def test_numbers_are_the_attribution_of_the_day_with_a_drift_line(sessions) -> None:
    a, b = Ledger(sessions, "alpha"), Ledger(sessions, "beta")
    fill(a, "BUY", 10, 100.0, datetime(2026, 11, 30, 15, tzinfo=UTC), 1.0, None)  # yesterday
    a.snapshot_equity(net_liquidation=999_950.0, unrealized_pnl=20.0,
                      at=datetime(2026, 11, 30, 21, tzinfo=UTC))  # fmt: skip
    fill(a, "BUY", 10, 100.0, at(10), 1.0, None)
    fill(a, "SELL", 20, 103.0, at(11), 1.25, 58.75)
    fill(b, "BUY", 5, 50.0, at(12), 1.0, None)
    for value, hour in ((1_000_000.0, 9), (1_000_400.0, 11), (999_000.0, 13)):
        a.snapshot_equity(net_liquidation=value, at=at(hour))
    b.snapshot_equity(net_liquidation=1_000_100.0, unrealized_pnl=12.5, at=at(16))
    DriftResults(sessions, lambda: at(17)).add(NewDriftResult(
        "alpha", None, date(2026, 11, 24), date(2026, 11, 30), live_pnl=580.0, replay_pnl=1000.0,
        components={"slippage": -300.0, "commissions": -120.0, "signal": 0.0},
        report_path="/reports/alpha", starting_equity=100_000.0))  # fmt: skip
    event = summary_event(sessions, ["alpha", "beta"], TUESDAY, ZoneInfo("US/Eastern"),
                          at(16, 30))  # fmt: skip
    d = event.data
    by_name = {s["strategy"]: s for s in d["strategies"]}
    alpha, beta = by_name["alpha"], by_name["beta"]
    # alpha: long 10 @ 100 from yesterday, 10 more @ 100, all 20 sold @ 103: gross 60 on
    # its own average cost (IB's 58.75 is net and the account's), unrealized 20 -> 0
    assert (alpha["trades"], alpha["realized_pnl"], alpha["commission"]) == (2, 60.0, 2.25)
    assert (alpha["unrealized_start"], alpha["unrealized_end"]) == (20.0, 0.0)
    assert alpha["net_pnl"] == 60.0 - 20.0 - 2.25
    assert (beta["trades"], beta["realized_pnl"], beta["unrealized_change"]) == (1, 0.0, 12.5)
    assert beta["net_pnl"] == 11.5
    assert d["trades"] == 3 and d["commission"] == 3.25 and d["net_pnl"] == 37.75 + 11.5
    assert d["portfolio_value"] == 1_000_100.0 and d["daily_pnl"] == 150.0  # from yesterday's
    assert d["unexplained_pnl"] == 150.0 - 49.25
    assert abs(d["max_drawdown_pct"] - (1_000_400 - 999_000) / 1_000_400 * 100) < 1e-9
    assert event.kind == "daily_summary" and event.key == "2026-12-01"
    table = d["table"].splitlines()
    assert table[1].split() == ["alpha", "2", "60.00", "-20.00", "2.25", "37.75"]
    assert table[3].split() == ["total", "3", "60.00", "-7.50", "3.25", "49.25"]
    assert "not explained by the strategies: 100.75" in table
    assert table[-1] == ("drift alpha -0.42% (-420.00; slippage -300.00, commissions -120.00)"
                         " 2026-11-24..11-30")  # fmt: skip
    assert not any(line.startswith("drift beta") for line in table)  # no result: no line
