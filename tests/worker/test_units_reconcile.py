"""`plan_reconciliation`: the gateway's view against the ledger, computed without effects."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tradd.ib.types import BrokerPosition, Commission, Execution, OrderUpdate
from tradd.persistence.models import OrderStatus
from tradd.persistence.records import OrderRecord
from tradd.worker.reconcile import (
    MISMATCH_CHECKS,
    QUANTITY_TOLERANCE,
    BrokerView,
    MismatchWatch,
    PositionMismatch,
    ReconcilePlan,
    consistent_broker_side,
    plan_reconciliation,
)

T0 = datetime(2024, 3, 11, 14, 0, tzinfo=UTC)


def update(ref: str, status: str = "Submitted", symbol: str = "GOOG") -> OrderUpdate:
    return OrderUpdate(100, 200, ref, symbol, status, 0.0, 10.0, 0.0)


def execution(exec_id: str, ref: str, qty: float = 10.0, side: str = "BUY",
              symbol: str = "GOOG", minutes: int = 0) -> tuple[Execution, Commission | None]:  # fmt: skip
    when = T0 + timedelta(minutes=minutes)
    ex = Execution(exec_id, 100, 200, ref, symbol, side, qty, 100.0, when)  # type: ignore[arg-type]
    return ex, Commission(exec_id, 1.0, None)


def record(ref: str, status: str = OrderStatus.SUBMITTED, symbol: str = "GOOG",
           created: datetime = T0) -> OrderRecord:  # fmt: skip
    strategy, seq = ref.rsplit("-", 1)
    return OrderRecord(1, ref, strategy, int(seq), symbol, "BUY", 10.0, "MKT", None, None, "DAY",
                       None, None, None, None, status, 0.0, None, None, created, created)  # fmt: skip


def view(open_orders=(), completed=(), executions=(), positions=()) -> BrokerView:
    return BrokerView(list(open_orders), list(completed), list(executions), list(positions))


def plan(v: BrokerView, ledger_open=(), known=(), ledger_positions=None, symbols=("GOOG",),
         strategy: str = "s1") -> ReconcilePlan:  # fmt: skip
    return plan_reconciliation(strategy, list(ledger_open), set(known), v,
                               ledger_positions or {}, symbols)  # fmt: skip


# -- orders ----------------------------------------------------------------------------------
def test_our_open_and_completed_orders_are_adopted_others_ignored() -> None:
    mine_open, mine_done = update("s1-1"), update("s1-2", "Filled")
    v = view(
        open_orders=[mine_open, update("s2-1"), update(""), update("manual order")],
        completed=[update("s12-3", "Filled"), mine_done, update("s1-x", "Cancelled")],
    )
    got = plan(v, ledger_open=[record("s1-1")])
    assert got.updates == [mine_open, mine_done]  # open first, then completed
    assert got.not_sent == [] and got.vanished == []


def test_created_order_unknown_to_ib_was_never_sent() -> None:
    v = view(open_orders=[update("s1-2")], executions=[execution("e1", "s1-3")])
    ledger = [
        record("s1-1", OrderStatus.CREATED),  # cut off between persisting and sending
        record("s1-2", OrderStatus.CREATED),  # IB has it open: it was sent
        record("s1-3", OrderStatus.CREATED),  # it filled: only its execution is listed
    ]
    got = plan(v, ledger_open=ledger, ledger_positions={"GOOG": 0.0})
    assert got.not_sent == ["s1-1"]
    assert got.vanished == []


def test_sent_order_unknown_to_ib_has_vanished() -> None:
    v = view(open_orders=[update("s1-1")], completed=[update("s1-2", "Cancelled")])
    ledger = [
        record("s1-1", OrderStatus.SUBMITTED),
        record("s1-2", OrderStatus.SUBMITTED),
        record("s1-3", OrderStatus.PRE_SUBMITTED),
        record("s1-4", OrderStatus.PENDING_SUBMIT),
        record("s1-5", OrderStatus.CREATED),
    ]
    got = plan(v, ledger_open=ledger)
    assert got.vanished == ["s1-3", "s1-4"]
    assert got.not_sent == ["s1-5"]


def test_unlisted_order_from_before_ibs_day_is_unknown_not_unsent_or_vanished() -> None:
    """IB lists only today's orders and fills: an order placed before its day began (a
    worker killed before hearing of its fills, restarted after the day turned) may have
    filled; absence is evidence only for orders placed since (issue 15, lost fills)."""
    day_began = T0 + timedelta(hours=10)
    before, after = T0, day_began + timedelta(minutes=1)
    ledger = [
        record("s1-1", OrderStatus.CREATED, created=before),
        record("s1-2", OrderStatus.SUBMITTED, created=before),
        record("s1-3", OrderStatus.CREATED, created=after),
        record("s1-4", OrderStatus.SUBMITTED, created=after),
        record("s1-5", OrderStatus.SUBMITTED, created=before),  # still listed: adopted
    ]
    v = view(open_orders=[update("s1-5")], positions=[BrokerPosition("GOOG", 10.0, 100.0)])
    got = plan_reconciliation("s1", ledger, set(), v, {}, ("GOOG",), since=day_began)
    assert got.unknown == ["s1-1", "s1-2"]
    assert got.not_sent == ["s1-3"] and got.vanished == ["s1-4"]
    assert got.mismatches == [PositionMismatch("GOOG", 10.0, 0.0)]  # the fill shows here
    assert got.summary().endswith("1 position mismatches, 2 unknown (before IB's day)")


def test_sent_order_seen_only_in_an_execution_has_not_vanished() -> None:
    """IB may list a filled order only through its execution (completed orders are partial)."""
    v = view(executions=[execution("e1", "s1-4")])
    got = plan(v, ledger_open=[record("s1-4")], known={"e1"}, ledger_positions={"GOOG": 10.0})
    assert got.vanished == [] and got.new_fills == []


# -- fills -----------------------------------------------------------------------------------
def test_our_unbooked_executions_are_new_fills_sorted_by_time_deduplicated() -> None:
    late, early, known = (execution("e3", "s1-1", 3, minutes=9), execution("e1", "s1-1", 5),
                          execution("e0", "s1-1", 1, minutes=-5))  # fmt: skip
    dup = execution("e1", "s1-1", 5)  # IB lists an execution twice (e.g. two reqExecutions)
    other = execution("e9", "s2-1", 7, minutes=1)
    manual = execution("e8", "", 1, minutes=2)
    v = view(executions=[late, early, dup, known, other, manual],
             positions=[BrokerPosition("GOOG", 18.0, 100.0)])  # fmt: skip
    got = plan(v, known={"e0"}, ledger_positions={"GOOG": 2.0})
    assert got.new_fills == [early, late]
    # 2 booked + 5 + 3 ours + 7 of s2 explain 17; the manual 1 does not
    assert got.mismatches == [PositionMismatch("GOOG", 18.0, 17.0)]


def test_commission_travels_with_its_fill_and_may_be_missing() -> None:
    ex, _ = execution("e1", "s1-1")
    v = view(executions=[(ex, None)], positions=[BrokerPosition("GOOG", 10.0, 100.0)])
    got = plan(v)
    assert got.new_fills == [(ex, None)]
    assert got.mismatches == []


# -- positions -----------------------------------------------------------------------------------
def test_position_explained_by_ledger_our_new_fills_and_other_strategies_unbooked_fills() -> None:
    v = view(
        executions=[
            execution("a", "s1-5", 3),  # ours, to book
            execution("b", "s2-1", 5),  # another tradd strategy's, its worker books it
            execution("c", "s2-2", 2, side="SELL"),
            execution("d", "s3-1", 4),  # another's, already booked: in ledger_positions
        ],
        positions=[BrokerPosition("GOOG", 20.0, 100.0)],
    )
    got = plan(v, known={"d"}, ledger_positions={"GOOG": 14.0})
    assert got.mismatches == []  # 14 + 3 + 5 - 2 == 20


def test_a_manual_execution_does_not_explain_the_position() -> None:
    v = view(executions=[execution("m", "", 5), execution("n", "not-a-tradd-ref", 1)],
             positions=[BrokerPosition("GOOG", 16.0, 100.0)])  # fmt: skip
    got = plan(v, ledger_positions={"GOOG": 10.0})
    assert got.new_fills == []
    assert got.mismatches == [PositionMismatch("GOOG", 16.0, 10.0)]
    assert got.mismatches[0].describe() == (
        "GOOG: the account holds 16, tradd's ledger explains 10"
    )


def test_sells_reduce_the_expected_position() -> None:
    v = view(executions=[execution("x", "s1-1", 4, side="SELL")],
             positions=[BrokerPosition("GOOG", 6.0, 100.0)])  # fmt: skip
    assert plan(v, ledger_positions={"GOOG": 10.0}).mismatches == []


@pytest.mark.parametrize(
    ("broker", "mismatch"),
    [
        (10.0, False),
        (10.0 + QUANTITY_TOLERANCE / 2, False),
        (10.0 - QUANTITY_TOLERANCE / 2, False),
        (10.0 + QUANTITY_TOLERANCE * 10, True),
        (9.0, True),
    ],
)
def test_mismatch_tolerance(broker: float, mismatch: bool) -> None:
    v = view(positions=[BrokerPosition("GOOG", broker, 100.0)])
    got = plan(v, ledger_positions={"GOOG": 10.0})
    assert bool(got.mismatches) is mismatch


def test_only_our_symbols_are_compared_and_missing_ones_count_as_flat() -> None:
    v = view(positions=[BrokerPosition("AAPL", 100.0, 1.0), BrokerPosition("GOOG", 0.0, 0.0)])
    got = plan(v, ledger_positions={"MSFT": 3.0}, symbols=("GOOG", "MSFT"))
    assert got.mismatches == [PositionMismatch("MSFT", 0.0, 3.0)]  # AAPL is not ours


def test_positions_of_one_symbol_are_summed() -> None:
    v = view(positions=[BrokerPosition("GOOG", 6.0, 100.0, "A"),
                        BrokerPosition("GOOG", 4.0, 100.0, "A")])  # fmt: skip
    assert plan(v, ledger_positions={"GOOG": 10.0}).mismatches == []


def test_summary_counts_everything() -> None:
    v = view(
        open_orders=[update("s1-1")],
        executions=[execution("e1", "s1-1", 2)],
        positions=[BrokerPosition("GOOG", 5.0, 100.0)],
    )
    got = plan(v, ledger_open=[record("s1-2", OrderStatus.CREATED),
                               record("s1-3", OrderStatus.SUBMITTED)])  # fmt: skip
    assert got.summary() == (
        "1 order states, 1 new fills, 1 never sent, 1 vanished, 1 position mismatches"
    )


# -- when a mismatch halts ------------------------------------------------------------------
def test_a_mismatch_halts_once_a_recheck_finds_the_same_gap() -> None:
    watch = MismatchWatch()
    assert watch.judge([PositionMismatch("GOOG", 17.0, 10.0)]) == [] and watch.pending
    again = [PositionMismatch("GOOG", 24.0, 17.0)]  # moved on, the same 7 unexplained
    assert watch.judge(again) == again and not watch.pending


def test_a_gap_a_recheck_does_not_confirm_is_forgotten() -> None:
    watch = MismatchWatch()
    assert watch.judge([PositionMismatch("GOOG", 17.0, 10.0)]) == []
    assert watch.judge([PositionMismatch("GOOG", 15.0, 10.0)]) == [] and watch.pending
    assert watch.judge([]) == [] and not watch.pending
    assert watch.judge([PositionMismatch("GOOG", 15.0, 10.0)]) == []  # a fresh suspect


def test_mismatches_every_check_halt_after_the_last_check_even_with_other_gaps() -> None:
    watch = MismatchWatch()
    found = [[PositionMismatch("GOOG", 10.0 + n, 0.0)] for n in range(MISMATCH_CHECKS)]
    assert [watch.judge(m) for m in found[:-1]] == [[]] * (MISMATCH_CHECKS - 1)
    assert watch.judge(found[-1]) == found[-1]


def test_ibs_positions_are_fetched_again_until_no_execution_arrives_around_them() -> None:
    lists = [[], [execution("e1", "s2-1")], [execution("e1", "s2-1")]]
    held = [[BrokerPosition("GOOG", 0.0, 0.0)], [BrokerPosition("GOOG", 10.0, 100.0)]]
    got = consistent_broker_side(lambda: lists.pop(0), lambda: held.pop(0))
    assert got == ([execution("e1", "s2-1")], [BrokerPosition("GOOG", 10.0, 100.0)])
    assert lists == held == []


def test_a_gateway_that_keeps_filling_is_fetched_a_bounded_number_of_times() -> None:
    calls = iter(range(100))
    got = consistent_broker_side(lambda: [execution(f"e{next(calls)}", "s2-1")], list, 3)
    assert [e.exec_id for e, _ in got[0]] == ["e3"]  # 1 + 3 fetches of the executions
