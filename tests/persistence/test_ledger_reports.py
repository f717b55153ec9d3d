"""Ledger history: position and equity snapshots, risk decisions, connection events,
strategy state, and the refusal of naive timestamps."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.persistence.conftest import T0, FakeClock, SqlLog, sqlite_only
from tradd.persistence.ledger import Ledger
from tradd.persistence.records import FillRecord, PositionRow


def test_latest_positions_are_the_rows_of_the_newest_snapshot_of_that_source(
    ledger: Ledger, clock: FakeClock
) -> None:
    ledger.snapshot_positions([PositionRow("GOOG", 10, 100.0)], "ledger")
    clock.advance(60)
    ledger.snapshot_positions(
        [PositionRow("ORCL", -5, 20.0, 19.0, -95.0, 5.0), PositionRow("GOOG", 12, 101.0)],
        "broker",
    )
    ledger.snapshot_positions([PositionRow("GOOG", 1)], "broker", at=T0 - timedelta(days=1))
    broker = ledger.latest_positions("broker")
    assert [(p.symbol, p.quantity) for p in broker] == [("GOOG", 12), ("ORCL", -5)]
    orcl = broker[1]
    assert (orcl.avg_cost, orcl.market_price, orcl.market_value, orcl.unrealized_pnl) == (
        20.0, 19.0, -95.0, 5.0,
    )  # fmt: skip
    assert (orcl.strategy, orcl.source, orcl.at) == ("sma_goog", "broker", clock.now)
    assert [p.symbol for p in ledger.latest_positions("ledger")] == ["GOOG"]


def test_an_empty_snapshot_means_flat(ledger: Ledger, clock: FakeClock) -> None:
    ledger.snapshot_positions([PositionRow("GOOG", 10)], "ledger")
    clock.advance(1)
    ledger.snapshot_positions([], "ledger")
    assert ledger.latest_positions("ledger") == []


def test_snapshots_are_per_strategy(ledger: Ledger, sessions: sessionmaker[Session]) -> None:
    ledger.snapshot_positions([PositionRow("GOOG", 10)], "broker")
    assert Ledger(sessions, "rsi_orcl").latest_positions("broker") == []


@sqlite_only
@pytest.mark.parametrize(
    ("rows", "source", "message"),
    [
        ([], "tws", "snapshot source 'tws'"),
        ([PositionRow("GOOG", 1), PositionRow("GOOG", 2)], "ledger", "lists a symbol twice"),
    ],
)
def test_bad_position_snapshots_are_refused(
    ledger: Ledger, sql_log: SqlLog, rows: list[PositionRow], source: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        ledger.snapshot_positions(rows, source)
    assert sql_log.statements == []


def test_equity_history_in_time_order(ledger: Ledger, clock: FakeClock) -> None:
    ledger.snapshot_equity(net_liquidation=100_000.0, cash=50_000.0, daily_pnl=0.0)
    ledger.snapshot_equity(net_liquidation=99_000.0, at=T0 - timedelta(hours=1))
    clock.advance(30)
    ledger.snapshot_equity(
        net_liquidation=101_000.0, gross_exposure=40_000.0, realized_pnl=500.0,
        unrealized_pnl=500.0, daily_pnl=1_000.0,
    )  # fmt: skip
    history = ledger.equity_history()
    assert [e.net_liquidation for e in history] == [99_000.0, 100_000.0, 101_000.0]
    assert history[1].cash == 50_000.0 and history[1].gross_exposure is None
    last = history[2]
    assert (last.at, last.gross_exposure, last.realized_pnl, last.unrealized_pnl) == (
        clock.now, 40_000.0, 500.0, 500.0,
    )  # fmt: skip
    assert [e.net_liquidation for e in ledger.equity_history(since=T0)] == [100_000.0, 101_000.0]


def test_risk_decisions_round_trip(ledger: Ledger, clock: FakeClock) -> None:
    ledger.record_risk_decision(
        action="reduce", reason="position limit 5% of equity", trading_state="ACTIVE",
        rule="max_position_pct", order_ref="sma_goog-4", symbol="GOOG", side="BUY",
        requested_qty=100.0, approved_qty=40.0,
    )  # fmt: skip
    clock.advance(1)
    ledger.record_risk_decision(action="halt", reason="daily loss", trading_state="HALTED")
    first, second = ledger.risk_decisions()
    assert (first.action, first.rule, first.order_ref, first.side) == (
        "reduce", "max_position_pct", "sma_goog-4", "BUY",
    )  # fmt: skip
    assert (first.requested_qty, first.approved_qty, first.at) == (100.0, 40.0, T0)
    assert (second.trading_state, second.symbol, second.at) == ("HALTED", None, clock.now)
    assert ledger.risk_decisions(since=clock.now) == [second]


@sqlite_only
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"trading_state": "PAUSED"}, "trading state 'PAUSED'"),
        ({"side": "SHORT"}, "side 'SHORT'"),
        ({"action": ""}, "needs an action and a reason"),
        ({"requested_qty": float("nan")}, "requested_qty nan"),
    ],
)
def test_bad_risk_decisions_are_refused(
    ledger: Ledger, kwargs: dict[str, Any], message: str
) -> None:
    values = {"action": "approve", "reason": "ok", "trading_state": "ACTIVE", **kwargs}
    with pytest.raises(ValueError, match=message):
        ledger.record_risk_decision(**values)


def test_connection_events_round_trip(ledger: Ledger, clock: FakeClock) -> None:
    ledger.record_connection_event("lost", "Connectivity between IB and TWS lost", 1100)
    clock.advance(5)
    ledger.record_connection_event("restored", "data lost", 1101)
    ledger.record_connection_event("reconciled", "3 orders, 1 fill replayed")
    events = ledger.connection_events()
    assert [(e.kind, e.code) for e in events] == [("lost", 1100), ("restored", 1101),
                                                  ("reconciled", None)]  # fmt: skip
    assert events[0].message == "Connectivity between IB and TWS lost"
    assert [e.kind for e in ledger.connection_events(since=clock.now)] == ["restored", "reconciled"]


def test_strategy_state_is_upserted(ledger: Ledger, clock: FakeClock, sessions: Any) -> None:
    assert ledger.state() is None
    saved = ledger.save_state(
        trading_state="ACTIVE", reason=None, equity_peak=100_000.0, day=date(2024, 3, 8),
        day_start_equity=99_500.0,
    )  # fmt: skip
    assert ledger.state() == saved
    assert (saved.strategy, saved.updated_at, saved.day) == ("sma_goog", T0, date(2024, 3, 8))
    clock.advance(60)
    halted = ledger.save_state(
        trading_state="HALTED", reason="drawdown 10.2% > 10%", equity_peak=101_000.0,
        day=None, day_start_equity=None,
    )  # fmt: skip
    assert ledger.state() == halted
    assert (halted.trading_state, halted.reason, halted.day, halted.updated_at) == (
        "HALTED", "drawdown 10.2% > 10%", None, clock.now,
    )  # fmt: skip
    assert Ledger(sessions, "rsi_orcl").state() is None


@sqlite_only
def test_save_state_refuses_a_datetime_as_the_trading_day(ledger: Ledger) -> None:
    with pytest.raises(ValueError, match="trading day .*must be a date"):
        ledger.save_state(trading_state="ACTIVE", reason=None, equity_peak=None,
                          day=T0, day_start_equity=None)  # fmt: skip
    with pytest.raises(ValueError, match="trading state 'active'"):
        ledger.save_state(trading_state="active", reason=None, equity_peak=None,
                          day=None, day_start_equity=None)  # fmt: skip


NAIVE = datetime(2024, 3, 8, 9, 30)


@sqlite_only
@pytest.mark.parametrize(
    "call",
    [
        lambda ledger: ledger.snapshot_equity(net_liquidation=1.0, at=NAIVE),
        lambda ledger: ledger.snapshot_positions([], "broker", at=NAIVE),
        lambda ledger: ledger.record_connection_event("lost", "x", at=NAIVE),
        lambda ledger: ledger.record_risk_decision(
            action="a", reason="r", trading_state="ACTIVE", at=NAIVE
        ),
        lambda ledger: ledger.fills(since=NAIVE),
        lambda ledger: ledger.equity_history(since=NAIVE),
        lambda ledger: FillRecord("e", None, "GOOG", "BUY", 1, 1.0, NAIVE),
    ],
    ids=["equity", "positions", "connection", "risk", "fills", "history", "fill-record"],
)
def test_naive_timestamps_are_refused_before_any_sql(
    ledger: Ledger, sql_log: SqlLog, call: Any
) -> None:
    with pytest.raises(ValueError, match=r"2024-03-08T09:30:00: must be timezone-aware"):
        call(ledger)
    assert sql_log.statements == []


@sqlite_only
def test_a_clock_returning_naive_times_is_refused(sessions: sessionmaker[Session]) -> None:
    ledger = Ledger(sessions, "sma_goog", clock=lambda: NAIVE)
    with pytest.raises(ValueError, match="clock time 2024-03-08T09:30:00: must be timezone-aware"):
        ledger.record_connection_event("lost", "x")


def test_timestamps_in_other_zones_are_stored_as_the_same_instant_in_utc(ledger: Ledger) -> None:
    new_york = timezone(timedelta(hours=-4))
    ledger.record_connection_event("lost", "x", at=T0.astimezone(new_york))
    at = ledger.connection_events()[0].at
    assert at == T0 and at.utcoffset() == timedelta(0) and at.tzinfo == UTC
