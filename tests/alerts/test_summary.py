"""The daily summary: its schedule and its numbers, from fills persisted in the ledger."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from tests.records.samples import status
from tradd.alerts.summary import SummarySchedule, summary_event
from tradd.config.alerts import SummarySettings
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


def test_numbers_match_the_persisted_fills(sessions) -> None:
    a, b = Ledger(sessions, "alpha"), Ledger(sessions, "beta")
    fill(a, "BUY", 10, 100.0, datetime(2026, 11, 30, 15, tzinfo=UTC), 1.0, None)  # yesterday
    fill(a, "BUY", 10, 100.0, at(10), 1.0, None)
    fill(a, "SELL", 20, 103.0, at(11), 1.25, 58.75)
    fill(b, "BUY", 5, 50.0, at(12), 1.0, None)
    for value, hour in ((1_000_000.0, 9), (1_000_400.0, 11), (999_000.0, 13), (1_000_100.0, 16)):
        a.snapshot_equity(net_liquidation=value, at=at(hour))
    event = summary_event(sessions, ["alpha", "beta"], TUESDAY, ZoneInfo("US/Eastern"),
                          {"beta": status(unrealized_pnl=12.5)}, at(16, 30))  # fmt: skip
    d = event.data
    today = [f for s in (a, b) for f in s.fills(since=at(0)) if f.executed_at < at(0, day=2)]
    assert d["trades"] == len(today) == 3
    assert d["realized_pnl"] == sum(f.realized_pnl or 0 for f in today) == 58.75
    assert d["commission"] == sum(f.commission or 0 for f in today) == 3.25
    assert d["unrealized_pnl"] == 12.5
    assert d["portfolio_value"] == 1_000_100.0 and d["daily_pnl"] == 100.0
    assert abs(d["max_drawdown_pct"] - (1_000_400 - 999_000) / 1_000_400 * 100) < 1e-9
    by_name = {s["name"]: s for s in d["strategies"]}
    assert by_name["alpha"]["trades"] == 2 and by_name["beta"]["trades"] == 1
    assert event.kind == "daily_summary" and event.key == "2026-12-01"
    assert "alpha" in d["table"] and "total" in d["table"]
