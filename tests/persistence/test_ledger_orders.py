"""Ledger orders: refs and sequences, brackets, status reports, queries; both backends."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import delete, event, select

from tests.fixtures.database import OpenedDatabase
from tests.persistence.conftest import FakeClock, SqlLog, sqlite_only
from tradd.persistence.ledger import Ledger
from tradd.persistence.models import Order, OrderSequence, OrderStatus
from tradd.persistence.records import TERMINAL_STATUSES, NewOrder, OrderRecord

MKT_BUY = NewOrder("GOOG", "BUY", 10, "MKT")


def bracket() -> list[NewOrder]:
    return [
        NewOrder("GOOG", "BUY", 10, "LMT", limit_price=100.0),
        NewOrder("GOOG", "SELL", 10, "LMT", limit_price=110.0, parent_index=0, oca_group="b1"),
        NewOrder("GOOG", "SELL", 10, "STP", stop_price=95.0, parent_index=0, oca_group="b1"),
    ]


def report(
    ledger: Ledger, ref: str, status: str, filled: float = 0, **extra: Any
) -> OrderRecord | None:
    remaining = extra.pop("remaining", 10 - filled)
    avg = extra.pop("avg_fill_price", 100.0 if filled else 0.0)
    return ledger.update_order(
        ref, status=status, filled=filled, remaining=remaining, avg_fill_price=avg, **extra
    )


def test_create_orders_persists_created_orders_with_consecutive_refs(
    ledger: Ledger, clock: FakeClock
) -> None:
    created = ledger.create_orders([MKT_BUY, NewOrder("ORCL", "SELL", 5, "STP", stop_price=9)])
    assert [(o.order_ref, o.seq) for o in created] == [("sma_goog-1", 1), ("sma_goog-2", 2)]
    first = created[0]
    assert first.status == OrderStatus.CREATED
    assert (first.strategy, first.symbol, first.side, first.quantity) == (
        "sma_goog",
        "GOOG",
        "BUY",
        10,
    )
    assert first.created_at == first.updated_at == clock.now
    assert (first.filled, first.remaining, first.is_terminal) == (0.0, 10.0, False)
    assert ledger.orders() == created  # what was returned is exactly what is stored
    assert ledger.order("sma_goog-2") == created[1]


def test_sequences_continue_across_ledgers_and_are_independent_per_strategy(
    sessions: Any, clock: FakeClock
) -> None:
    one, two = Ledger(sessions, "sma_goog", clock), Ledger(sessions, "sma_goog", clock)
    other = Ledger(sessions, "rsi_orcl", clock)
    assert [o.seq for o in one.create_orders([MKT_BUY, MKT_BUY])] == [1, 2]
    assert [o.seq for o in two.create_orders([MKT_BUY])] == [3]
    assert [o.order_ref for o in other.create_orders([MKT_BUY])] == ["rsi_orcl-1"]
    assert [o.seq for o in one.create_orders([MKT_BUY])] == [4]
    assert [o.seq for o in other.orders()] == [1]  # each ledger sees its own orders


def test_sequence_numbers_are_never_reused_after_orders_are_deleted(
    ledger: Ledger, sessions: Any
) -> None:
    ledger.create_orders([MKT_BUY, MKT_BUY])
    with sessions.begin() as session:
        session.execute(delete(Order))
    assert [o.order_ref for o in ledger.create_orders([MKT_BUY])] == ["sma_goog-3"]


def test_a_failed_batch_writes_nothing_and_consumes_no_sequence_number(
    ledger: Ledger, database: OpenedDatabase
) -> None:
    ledger.create_orders([MKT_BUY])

    def crash_on_order_insert(*args: Any) -> None:
        if args[2].startswith("INSERT INTO orders"):
            raise RuntimeError("crash between the sequence and the orders")

    event.listen(database.engine, "before_cursor_execute", crash_on_order_insert)
    try:
        with pytest.raises(RuntimeError, match="crash between"):
            ledger.create_orders(bracket())
    finally:
        event.remove(database.engine, "before_cursor_execute", crash_on_order_insert)
    assert [o.seq for o in ledger.orders()] == [1]
    with database.sessions() as session:
        assert session.scalar(select(OrderSequence.last_seq)) == 1
    assert [o.seq for o in ledger.create_orders([MKT_BUY])] == [2]


def test_a_bracket_is_created_at_once_with_children_pointing_at_their_parent(
    ledger: Ledger, sql_log: SqlLog
) -> None:
    ledger.create_orders([MKT_BUY])
    sql_log.clear()
    parent, take_profit, stop = ledger.create_orders(bracket())
    inserts = [s for s in sql_log.statements if s.startswith("INSERT INTO orders")]
    assert len(inserts) == 1  # one multi-row INSERT for the whole bracket
    assert parent.parent_ref is None
    assert take_profit.parent_ref == stop.parent_ref == parent.order_ref == "sma_goog-2"
    assert take_profit.oca_group == stop.oca_group == "b1"
    later = ledger.create_orders([NewOrder("GOOG", "SELL", 5, "MKT", parent_ref="sma_goog-2")])
    assert later[0].parent_ref == "sma_goog-2"
    assert ledger.order("sma_goog-3") == take_profit


@sqlite_only
@pytest.mark.parametrize(
    ("batch", "message"),
    [
        ([NewOrder("GOOG", "BUY", 1, "MKT", parent_index=0)], "parent_index 0 must point"),
        ([MKT_BUY, NewOrder("GOOG", "BUY", 1, "MKT", parent_index=2)], "order 1 .*parent_index 2"),
        ([NewOrder("GOOG", "BUY", 1, "MKT", parent_ref="rsi_orcl-1")], "not an order of strategy"),
        ([NewOrder("GOOG", "BUY", 1, "MKT", parent_ref="manual")], "'manual' is not an order"),
    ],
)
def test_bad_parents_are_refused_before_any_sql(
    ledger: Ledger, sql_log: SqlLog, batch: list[NewOrder], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        ledger.create_orders(batch)
    assert sql_log.statements == []
    assert ledger.create_orders([MKT_BUY])[0].seq == 1


@sqlite_only
def test_an_empty_batch_creates_nothing(ledger: Ledger, sql_log: SqlLog) -> None:
    assert ledger.create_orders([]) == []
    assert sql_log.statements == []


def test_status_reports_update_the_order_and_append_events(
    ledger: Ledger, clock: FakeClock
) -> None:
    ref = ledger.create_orders([MKT_BUY])[0].order_ref
    t1 = clock.advance(1)
    submitted = report(ledger, ref, "Submitted", ib_order_id=7, perm_id=9001)
    assert submitted is not None
    assert (submitted.status, submitted.ib_order_id, submitted.perm_id) == ("Submitted", 7, 9001)
    assert submitted.avg_fill_price is None  # IB's 0.0 before any fill
    assert submitted.updated_at == t1
    t2 = clock.advance(1)
    partial = report(ledger, ref, "Submitted", filled=4, avg_fill_price=100.5)
    assert partial is not None
    assert (partial.filled, partial.remaining, partial.avg_fill_price) == (4, 6, 100.5)
    assert (partial.ib_order_id, partial.perm_id) == (7, 9001)  # kept when not given
    events = ledger.order_events(ref)
    assert [(e.status, e.filled, e.remaining) for e in events] == [
        ("Submitted", 0, 10),
        ("Submitted", 4, 6),
    ]
    assert [e.at for e in events] == [t1, t2]
    assert ledger.order(ref) == partial


def test_an_identical_repeated_report_writes_nothing(ledger: Ledger, clock: FakeClock) -> None:
    ref = ledger.create_orders([MKT_BUY])[0].order_ref
    first = report(ledger, ref, "PreSubmitted", message="held")
    clock.advance(5)
    again = report(ledger, ref, "PreSubmitted", message="held")
    assert again == first  # updated_at not touched either
    assert len(ledger.order_events(ref)) == 1


def test_a_new_message_is_the_reason_and_an_event(ledger: Ledger) -> None:
    ref = ledger.create_orders([MKT_BUY])[0].order_ref
    report(ledger, ref, "Submitted")
    rejected = report(ledger, ref, "Rejected", message="201: order rejected - margin")
    assert rejected is not None and rejected.reason == "201: order rejected - margin"
    report(ledger, ref, "Rejected", message="399: warning")  # same status, new message
    events = ledger.order_events(ref)
    assert [(e.status, e.message) for e in events] == [
        ("Submitted", None),
        ("Rejected", "201: order rejected - margin"),
        ("Rejected", "399: warning"),
    ]
    assert ledger.order(ref).reason == "399: warning"  # type: ignore[union-attr]


def test_a_terminal_order_ignores_stale_statuses_but_keeps_a_rising_fill(
    ledger: Ledger,
) -> None:
    ref = ledger.create_orders([MKT_BUY])[0].order_ref
    report(ledger, ref, "Cancelled", filled=3, avg_fill_price=100.0)
    stale = report(ledger, ref, "Submitted", filled=5, avg_fill_price=100.2)
    assert stale is not None
    assert (stale.status, stale.filled, stale.avg_fill_price) == ("Cancelled", 5, 100.2)
    assert report(ledger, ref, "Submitted", filled=5, avg_fill_price=100.2) == stale  # no-op
    assert [e.status for e in ledger.order_events(ref)] == ["Cancelled", "Cancelled"]
    assert ledger.orders(open_only=True) == []


def test_filled_never_goes_down_and_filled_is_final(ledger: Ledger) -> None:
    ref = ledger.create_orders([MKT_BUY])[0].order_ref
    report(ledger, ref, "Filled", filled=10, avg_fill_price=101.0, remaining=0)
    late = report(ledger, ref, "Submitted", filled=4, avg_fill_price=100.0)
    assert late is not None
    assert (late.status, late.filled, late.avg_fill_price) == ("Filled", 10, 101.0)
    assert report(ledger, ref, "Cancelled", filled=10, avg_fill_price=101.0) == late
    assert len(ledger.order_events(ref)) == 1


def test_a_terminal_status_may_still_be_corrected_by_a_later_terminal_one(ledger: Ledger) -> None:
    ref = ledger.create_orders([MKT_BUY])[0].order_ref
    assert report(ledger, ref, "NotSent").status == "NotSent"  # type: ignore[union-attr]
    filled = report(ledger, ref, "Filled", filled=10, remaining=0)  # it did reach IB after all
    assert filled is not None and filled.status == "Filled"


@pytest.mark.parametrize("verdict", ["NotSent", "Unknown"])
def test_any_report_from_ib_reopens_an_order_tradd_wrote_off(ledger: Ledger, verdict: str) -> None:
    """IB reporting the order at all proves it reached IB (issue 15: a worker must not
    lose a live order, nor its fills, to a wrong `NotSent`)."""
    ref = ledger.create_orders([MKT_BUY])[0].order_ref
    assert report(ledger, ref, verdict).status == verdict  # type: ignore[union-attr]
    working = report(ledger, ref, "Submitted")
    assert working is not None and working.status == "Submitted" and not working.is_terminal
    assert report(ledger, ref, "Filled", filled=10, remaining=0).status == "Filled"  # type: ignore[union-attr]


@pytest.mark.parametrize("ref", ["", "manual-order", "rsi_orcl-1", "sma_goog-99", "sma_goog-x"])
def test_reports_for_foreign_or_unknown_orders_return_none(
    ledger: Ledger, sessions: Any, ref: str
) -> None:
    ledger.create_orders([MKT_BUY])
    Ledger(sessions, "rsi_orcl").create_orders([MKT_BUY])
    assert report(ledger, ref, "Submitted") is None
    assert ledger.order(ref) is None
    other = Ledger(sessions, "rsi_orcl").order("rsi_orcl-1")
    assert other is not None and other.status == "Created"  # untouched


@sqlite_only
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"status": "Done"}, "order status 'Done': must be one of Created"),
        ({"status": ""}, "order status ''"),
        ({"filled": -1.0}, "filled -1.0"),
        ({"remaining": float("nan")}, "remaining nan"),
        ({"avg_fill_price": float("inf")}, "average fill price inf"),
    ],
)
def test_bad_status_reports_are_refused_before_any_sql(
    ledger: Ledger, sql_log: SqlLog, kwargs: dict[str, Any], message: str
) -> None:
    values: dict[str, Any] = {"status": "Submitted", "filled": 0.0, "remaining": 10.0,
                              "avg_fill_price": None, **kwargs}  # fmt: skip
    sql_log.clear()
    with pytest.raises(ValueError, match=message):
        ledger.update_order("sma_goog-1", **values)
    assert sql_log.statements == []


def test_open_orders_and_lookup_by_ib_order_id(ledger: Ledger) -> None:
    a, b, c, d = (o.order_ref for o in ledger.create_orders([MKT_BUY] * 4))
    report(ledger, a, "Filled", filled=10, remaining=0, ib_order_id=11)
    report(ledger, b, "Submitted", ib_order_id=12)
    report(ledger, c, "Inactive", ib_order_id=13)
    assert [o.order_ref for o in ledger.orders(open_only=True)] == [b, d]  # Created is open
    assert [o.order_ref for o in ledger.orders()] == [a, b, c, d]
    found = ledger.orders_by_ib_id([12, 13, 99])
    assert {k: v.order_ref for k, v in found.items()} == {12: b, 13: c}
    assert ledger.order_events(d) == []


def test_status_constants_cover_ib_and_tradd_statuses() -> None:
    ib = {"PendingSubmit", "PendingCancel", "PreSubmitted", "Submitted", "ApiPending",
          "ApiCancelled", "Cancelled", "Filled", "Inactive"}  # fmt: skip
    assert ib | {"Created", "NotSent", "Unknown", "Rejected"} <= set(OrderStatus)
    assert {"Filled", "Cancelled", "ApiCancelled", "Inactive", "Rejected",
                                 "NotSent", "Unknown"} == TERMINAL_STATUSES  # fmt: skip
