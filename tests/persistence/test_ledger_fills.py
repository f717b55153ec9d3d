"""Ledger fills: exec-id dedup, commissions, queries, the book and account positions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from tests.fixtures.database import OpenedDatabase
from tests.persistence.conftest import T0, FakeClock, SqlLog, sqlite_only
from tradd.persistence.ledger import Ledger
from tradd.persistence.records import FillRecord, NewOrder

IB_UNSET_DOUBLE = 1.7976931348623157e308


def fill(exec_id: str, side: str = "BUY", quantity: float = 10, price: float = 100.0,
         symbol: str = "GOOG", at: datetime = T0, **extra: Any) -> FillRecord:  # fmt: skip
    return FillRecord(exec_id=exec_id, order_ref=extra.pop("order_ref", None), symbol=symbol,
                      side=side, quantity=quantity, price=price, executed_at=at, **extra)  # fmt: skip


@pytest.fixture
def other(sessions: sessionmaker[Session], clock: FakeClock) -> Ledger:
    return Ledger(sessions, "rsi_orcl", clock)


def test_a_fill_is_stored_once_per_exec_id_across_all_strategies(
    ledger: Ledger, other: Ledger
) -> None:
    ref = ledger.create_orders([NewOrder("GOOG", "BUY", 10, "MKT")])[0].order_ref
    first = fill("0001.01", order_ref=ref, ib_order_id=5, perm_id=77, account="DU1")
    assert ledger.add_fill(first) is True
    assert ledger.add_fill(first) is False  # replayed execDetails
    assert other.add_fill(fill("0001.01", price=1.0)) is False  # same exec id elsewhere
    assert ledger.fills() == [first]
    assert other.fills() == []


def test_fills_belong_to_the_ledgers_strategy(ledger: Ledger, other: Ledger) -> None:
    ledger.add_fill(fill("a", symbol="GOOG"))
    other.add_fill(fill("b", symbol="ORCL"))
    assert [f.exec_id for f in ledger.fills()] == ["a"]
    assert [f.exec_id for f in other.fills()] == ["b"]
    assert ledger.known_exec_ids(["a", "b", "c"]) == {"a", "b"}  # any strategy


@sqlite_only
def test_a_fill_of_another_strategys_order_is_refused(ledger: Ledger, sql_log: SqlLog) -> None:
    with pytest.raises(ValueError, match="order rsi_orcl-3 belongs to strategy rsi_orcl"):
        ledger.add_fill(fill("x", order_ref="rsi_orcl-3"))
    assert sql_log.statements == []
    assert ledger.add_fill(fill("y", order_ref="manual TWS")) is True  # foreign, not tradd's


def test_fills_come_back_by_execution_time_then_arrival(ledger: Ledger) -> None:
    later, earlier = T0 + timedelta(minutes=1), T0 - timedelta(minutes=1)
    ledger.add_fill(fill("b1", at=T0))
    ledger.add_fill(fill("late", at=later))
    ledger.add_fill(fill("b2", at=T0))
    ledger.add_fill(fill("early", at=earlier))
    assert [f.exec_id for f in ledger.fills()] == ["early", "b1", "b2", "late"]
    assert [f.exec_id for f in ledger.fills(since=T0)] == ["b1", "b2", "late"]
    eastern = timezone(timedelta(hours=-5))
    assert [f.exec_id for f in ledger.fills(since=later.astimezone(eastern))] == ["late"]


def test_execution_times_are_stored_as_utc_instants(ledger: Ledger) -> None:
    tokyo = timezone(timedelta(hours=9))
    ledger.add_fill(fill("tz", at=T0.astimezone(tokyo)))
    stored = ledger.fills()[0].executed_at
    assert stored == T0 and stored.tzinfo == UTC


def test_commission_reports_attach_to_their_fill(ledger: Ledger, other: Ledger) -> None:
    ledger.add_fill(fill("c1", quantity=10, price=100.0))
    assert ledger.set_commission("c1", 1.0, IB_UNSET_DOUBLE) is True  # opening: no P&L
    assert ledger.set_commission("c1", 1.0, IB_UNSET_DOUBLE) is True  # idempotent
    stored = ledger.fills()[0]
    assert (stored.commission, stored.realized_pnl) == (1.0, None)
    ledger.add_fill(fill("c2", side="SELL", quantity=10, price=101.0))
    assert ledger.set_commission("c2", 1.05, 8.95) is True
    assert ledger.fills()[1].realized_pnl == 8.95
    assert ledger.set_commission("nope", 1.0, None) is False
    assert other.set_commission("c1", 99.0, None) is False  # not its fill
    assert ledger.fills()[0].commission == 1.0


@sqlite_only
def test_bad_commissions_are_refused(ledger: Ledger) -> None:
    with pytest.raises(ValueError, match="fill c1: commission nan"):
        ledger.set_commission("c1", float("nan"), None)
    with pytest.raises(ValueError, match="IB's 'unset'"):
        ledger.set_commission("c1", IB_UNSET_DOUBLE, None)


def test_known_exec_ids_handles_more_ids_than_one_statement_may_bind(ledger: Ledger) -> None:
    ledger.add_fill(fill("k1"))
    ledger.add_fill(fill("k2"))
    asked = [f"unknown{i}" for i in range(70_000)] + ["k2", "k1"]  # > PostgreSQL's 65535
    assert ledger.known_exec_ids(asked) == {"k1", "k2"}
    assert ledger.known_exec_ids([]) == set()


def test_the_book_replays_this_strategys_fills_with_their_commissions(
    ledger: Ledger, other: Ledger
) -> None:
    ledger.add_fill(fill("b1", "BUY", 10, 100.0, commission=1.0))
    ledger.add_fill(fill("b2", "SELL", 4, 110.0, at=T0 + timedelta(seconds=1)))
    ledger.set_commission("b2", 1.0, None)
    other.add_fill(fill("o1", "BUY", 50, 100.0))
    book = ledger.book()
    goog = book.position("GOOG")
    assert (goog.quantity, goog.avg_price, goog.realized_pnl) == (6, 100.0, 40.0)
    assert book.commission == 2.0


def test_account_positions_net_the_fills_of_all_strategies(ledger: Ledger, other: Ledger) -> None:
    ledger.add_fill(fill("1", "BUY", 10, symbol="GOOG"))
    other.add_fill(fill("2", "SELL", 4, symbol="GOOG"))
    other.add_fill(fill("3", "SELL", 7, symbol="ORCL"))
    ledger.add_fill(fill("4", "BUY", 5, symbol="MSFT"))
    ledger.add_fill(fill("5", "SELL", 5, symbol="MSFT"))  # flat: omitted
    assert ledger.account_positions() == {"GOOG": 6.0, "ORCL": -7.0}
    assert other.account_positions(["ORCL", "MSFT", "AAPL"]) == {"ORCL": -7.0}
    assert ledger.account_positions([]) == {}


def test_booked_positions_is_one_snapshot_whatever_another_writer_books_meanwhile(
    ledger: Ledger, other: Ledger, database: OpenedDatabase
) -> None:
    """Another worker books a fill of IB's (exec "2") between the exec-id read and the
    positions read (issue 15: counted twice, as unbooked and in the position, it showed
    as a false mismatch). Both come from one snapshot: "2" is unbooked AND not in it."""
    ledger.add_fill(fill("1", "BUY", 10, symbol="GOOG"))
    booked: list[bool] = []

    def book_between(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "GROUP BY fills.symbol" in statement and not booked:
            booked.append(other.add_fill(fill("2", "SELL", 4, symbol="GOOG")))

    event.listen(database.engine, "before_cursor_execute", book_between)
    try:
        got = ledger.booked_positions(["1", "2", "3"], ["GOOG", "ORCL"])
    finally:
        event.remove(database.engine, "before_cursor_execute", book_between)
    assert booked == [True]
    assert (got.known_exec_ids, got.positions) == ({"1"}, {"GOOG": 10.0})
    got = ledger.booked_positions(["1", "2", "3"], ["GOOG"])  # a fresh read sees it
    assert (got.known_exec_ids, got.positions) == ({"1", "2"}, {"GOOG": 6.0})


def test_an_order_row_agrees_with_its_fills_whatever_ib_reports(ledger: Ledger) -> None:
    """Fills booked at reconciliation come with a completed-orders entry that says Filled
    but carries no quantity (issue 15): the order row takes its fills' quantity and average
    price, and a later report without them does not lower them."""
    ref = ledger.create_orders([NewOrder("GOOG", "BUY", 10, "MKT")])[0].order_ref
    ledger.add_fill(fill("r1", quantity=4, price=100.0, order_ref=ref))
    ledger.add_fill(fill("r2", quantity=6, price=101.0, order_ref=ref))
    ledger.update_order(ref, status="Filled", filled=0.0, remaining=0.0, avg_fill_price=None)
    order = ledger.order(ref)
    assert order is not None
    assert (order.status, order.filled) == ("Filled", 10)
    assert order.avg_fill_price == pytest.approx(100.6)
    # IB's own report ahead of its fills stands; the fills only ever raise it.
    ahead = ledger.create_orders([NewOrder("GOOG", "SELL", 10, "MKT")])[0].order_ref
    ledger.update_order(ahead, status="Filled", filled=10, remaining=0, avg_fill_price=99.5)
    ledger.add_fill(fill("s1", side="SELL", quantity=4, price=99.0, order_ref=ahead))
    assert ledger.order(ahead).filled == 10 and ledger.order(ahead).avg_fill_price == 99.5
