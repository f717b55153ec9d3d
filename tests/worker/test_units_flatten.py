"""Flatten's state machine and the settlement it relies on, with a scripted order manager.

The cases that matter: IB reports an order Filled before the execution reaches the book
(the flatten must not close what is about to be closed anyway), and a close that fills
only in part (the flatten goes round again).
"""

from __future__ import annotations

import uuid
from concurrent.futures import Future
from datetime import UTC, datetime
from typing import Any

from tradd.ib.types import OrderUpdate
from tradd.persistence.book import Book
from tradd.persistence.records import FillRecord
from tradd.worker.flatten import FlattenJob
from tradd.worker.working import WorkingOrders

T0 = datetime(2006, 1, 10, 15, tzinfo=UTC)


def fill(ref: str, side: str, quantity: float, price: float = 100.0) -> FillRecord:
    return FillRecord(uuid.uuid4().hex, ref, "GOOG", side, quantity, price, T0)


def status(ref: str, state: str, filled: float, remaining: float, side: str = "SELL"):
    return OrderUpdate(1, 1, ref, "GOOG", state, filled, remaining, 100.0, "", side, 100.0)


class FakeManager:
    def __init__(self) -> None:
        self.working = WorkingOrders()
        self.book = Book()
        self.cancels: list[str] = []
        self.closes: list[tuple[str, float]] = []

    def cancel(self, ref: str) -> bool:
        self.cancels.append(ref)
        return True

    def close_now(self, symbols: list[str], why: str) -> list[str]:
        refs = []
        for symbol in symbols:
            quantity = self.book.position(symbol).quantity
            ref = f"close-{len(self.closes) + 1}"
            side = "SELL" if quantity > 0 else "BUY"
            self.closes.append((ref, abs(quantity)))
            self.working.add(ref, symbol, side, abs(quantity), child=False)
            refs.append(ref)
        return refs

    def execute(self, ref: str, side: str, quantity: float) -> None:
        self.book.apply(fill(ref, side, quantity))
        self.working.booked(ref, quantity)


def job(manager: FakeManager) -> FlattenJob:
    flatten = FlattenJob(manager, "test", deadline=100.0)  # type: ignore[arg-type]
    flatten.start()
    return flatten


def test_a_fill_reported_before_it_is_booked_is_not_closed_twice() -> None:
    m = FakeManager()
    m.execute("s1-1", "BUY", 100)
    m.working.add("s1-2", "GOOG", "SELL", 100, child=False)  # a working stop
    flatten = job(m)
    assert flatten.step(0.0, usable=True) is False
    assert m.cancels == ["s1-2"] and m.closes == []
    m.working.update("s1-2", status("s1-2", "Filled", 100, 0))  # the stop won the race
    assert flatten.step(1.0, usable=True) is False
    assert m.closes == []  # its execution is not in the book yet: no close
    m.execute("s1-2", "SELL", 100)
    assert flatten.step(2.0, usable=True) is True
    assert m.closes == [] and flatten.result(True, "")["symbols"]["GOOG"]["after"] == 0.0


def test_a_close_filled_in_part_is_topped_up() -> None:
    m = FakeManager()
    m.execute("s1-1", "BUY", 100)
    flatten = job(m)
    assert flatten.step(0.0, usable=True) is False
    assert m.closes == [("close-1", 100)]
    m.execute("close-1", "SELL", 60)
    m.working.update("close-1", status("close-1", "Cancelled", 60, 40))
    assert flatten.step(1.0, usable=True) is False
    assert m.closes == [("close-1", 100), ("close-2", 40)]
    m.execute("close-2", "SELL", 40)
    m.working.update("close-2", status("close-2", "Filled", 40, 0))
    assert flatten.step(2.0, usable=True) is True
    assert m.book.position("GOOG").is_flat


def test_nothing_is_sent_while_disconnected_and_the_deadline_reports_failure() -> None:
    m = FakeManager()
    m.execute("s1-1", "BUY", 100)
    flatten = job(m)
    assert flatten.step(50.0, usable=False) is False
    assert m.cancels == [] and m.closes == []
    assert flatten.step(100.0, usable=False) is True
    result = flatten.result(False, "")
    assert result["symbols"]["GOOG"] == {"before": 100.0, "after": 100.0, "result": "not flat"}


def test_working_orders_count_as_exposure_until_they_finish_and_settle() -> None:
    w = WorkingOrders()
    w.add("a", "GOOG", "BUY", 10, child=False)
    w.add("b", "GOOG", "SELL", 10, child=True)  # a bracket child: conditional, not counted
    w.add("c", "ORCL", "SELL", 5, child=False)
    assert w.exposure() == {"GOOG": 10, "ORCL": -5}
    w.update("a", status("a", "Filled", 10, 0, side="BUY"))
    assert "a" in w.unsettled() and "a" not in w.working() and "GOOG" not in w.exposure()
    w.booked("a", 10)
    assert "a" not in w.unsettled()
    w.finish("c")
    assert w.unsettled() == ["b"] and w.symbol_of("b") == "GOOG"


def test_a_late_repeat_of_a_final_status_does_not_bring_a_settled_order_back() -> None:
    w = WorkingOrders()
    w.add("a", "GOOG", "SELL", 10, child=False)
    w.update("a", status("a", "Filled", 10, 0))
    w.booked("a", 10)
    assert w.unsettled() == []
    w.update("a", status("a", "Filled", 10, 0))  # e.g. the reconciliation's copy after 1102
    assert w.unsettled() == []


def test_a_stale_report_queued_behind_the_settling_one_does_not_bring_it_back() -> None:
    """A reconciliation settled the order from IB's fresh views; the live reports queued
    behind it then say "Submitted, 0 filled" and "Filled": no phantom waits for a fill."""
    w = WorkingOrders()
    w.add("a", "GOOG", "BUY", 10, child=False)
    w.booked("a", 10)
    w.update("a", status("a", "Filled", 10, 0, side="BUY"))
    assert w.unsettled() == []
    w.update("a", status("a", "Submitted", 0, 10, side="BUY"), lambda: 10.0)
    w.update("a", status("a", "Filled", 10, 0, side="BUY"))
    assert w.unsettled() == [] and w.exposure() == {}


def test_an_order_adopted_counts_the_fills_the_ledger_already_holds() -> None:
    """After a restart, an order partly filled before it is adopted with those fills booked:
    its final Filled must not wait for them again."""
    w = WorkingOrders()
    w.update("a", status("a", "Submitted", 4, 6), lambda: 4.0)
    assert w.working() == ["a"]
    w.update("a", status("a", "Filled", 10, 0))
    assert w.unsettled() == ["a"]  # the last 6 are not booked yet
    w.booked("a", 6)
    assert w.unsettled() == []


def test_an_order_written_off_then_reported_working_is_adopted_again() -> None:
    w = WorkingOrders()
    w.add("a", "GOOG", "BUY", 10, child=False)
    w.finish("a")  # e.g. "no longer known to IB at reconciliation"
    w.update("a", status("a", "Submitted", 0, 10, side="BUY"))
    assert w.working() == ["a"]


def test_a_flatten_that_times_out_says_what_it_waited_for() -> None:
    m = FakeManager()
    m.execute("s1-1", "BUY", 100)
    m.working.add("s1-2", "GOOG", "SELL", 100, child=False)
    m.working.update("s1-2", status("s1-2", "Filled", 100, 0))  # its fill never booked
    reply: Future[dict[str, Any]] = Future()
    flatten = FlattenJob(m, "test", deadline=100.0, reply=reply)  # type: ignore[arg-type]
    flatten.start()
    assert flatten.step(0.0, usable=True) is False
    waited = "waiting for orders to settle: s1-2 (GOOG: IB reported 100 filled, 0 booked)"
    assert flatten.waiting == waited
    assert flatten.step(100.0, usable=False) is True
    assert m.closes == []
    assert reply.result(0)["message"] == (
        f"timed out before the positions were confirmed flat: not connected to IB; {waited}"
    )
