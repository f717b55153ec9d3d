"""No false position mismatch when another strategy trades the same symbol (issue 15).

The rehearsal halted `rsi` with "GOOG: the account holds 134, tradd's ledger explains
268" while `churn` traded GOOG every bar in another worker on the same SQLite ledger.
Reconciliation read the booked exec ids and the ledger's positions in two transactions:
a fill `churn` booked in between was counted twice (as IB's not-yet-booked execution and
in the ledger's position). And IB's executions and positions are fetched at different
moments, so a fill arriving in between shows as a mismatch the next check no longer sees.

The interleaving here is made deterministic: a hook on the SQL statements books the other
strategy's fill (through a ledger of its own, on another connection) just before the
worker reads the ledger's positions.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import ib_async
from sqlalchemy import event
from sqlalchemy.engine import Engine

from tests.fixtures.simulator import eventually
from tradd.ib.events import LinkState
from tradd.ib.types import BrokerPosition
from tradd.persistence.records import FillRecord

from .conftest import sim_ledger


def other_strategys_fill(live: Any, sim: Any, ref: str, quantity: float) -> dict[str, Any]:
    """Another tradd strategy's order, placed at the gateway (not by s1) and filled on the
    next bar; its fills at the gateway, by exec id."""
    other = ib_async.IB()
    other.connect("127.0.0.1", sim.port, clientId=77, timeout=5)
    try:
        goog = other.qualifyContracts(ib_async.Stock("GOOG", "SMART", "USD"))[0]
        trade = other.placeOrder(goog, ib_async.MarketOrder("BUY", quantity, orderRef=ref))
        eventually(lambda: other.sleep(0.05) or trade.orderStatus.status != "PendingSubmit",
                   10, "the other order accepted")  # fmt: skip
        live.advance(60)
        fills: dict[str, Any] = eventually(
            lambda: sim_ledger(sim, ref)["fills"], 10, "the other order filled"
        )
        return fills
    finally:
        other.disconnect()


def fill_record(exec_id: str, fill: tuple[Any, ...]) -> FillRecord:
    order_ref, side, shares, price, commission = fill
    side = "BUY" if side.upper().startswith("B") else "SELL"
    return FillRecord(exec_id, order_ref, "GOOG", side, float(shares), float(price),
                      datetime.now(UTC), commission=float(commission))  # fmt: skip


def in_reconcile() -> bool:
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == "reconcile":
            return True
        frame = frame.f_back  # type: ignore[assignment]
    return False


def reconcile_again(live: Any, simulator: Any) -> None:
    """1100 then 1102: the worker reconciles with the gateway once more."""
    count = live.engine.ready_count
    simulator.call(simulator.gw.faults.connectivity_lost)
    live.wait_until(lambda: live.worker.link.state is LinkState.CONNECTIVITY_LOST, 5, "1100")
    simulator.call(simulator.gw.faults.connectivity_restored)
    live.wait_until(lambda: live.engine.ready_count > count and live.worker.link.usable,
                    20, "reconciled after 1102")  # fmt: skip
    live.sync()


def reconciled(ledger: Any) -> list[str]:
    return [e.message for e in ledger.connection_events() if e.kind == "reconciled"]


def test_a_fill_booked_by_another_worker_mid_reconciliation_counts_once(
    launch, ledger_for, simulator
) -> None:
    live = launch("")
    (exec_id, fill), *_ = other_strategys_fill(live, simulator, "churn-1", 7).items()
    churn = ledger_for("churn")  # the other worker: its own engine, its own connection
    booked: list[bool] = []

    def book_between_the_reads(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        positions_read = "sum(CASE" in statement and "GROUP BY fills.symbol" in statement
        if positions_read and not booked and in_reconcile():
            booked.append(churn.add_fill(fill_record(exec_id, fill)))

    event.listen(Engine, "before_cursor_execute", book_between_the_reads)
    try:
        reconcile_again(live, simulator)
    finally:
        event.remove(Engine, "before_cursor_execute", book_between_the_reads)
    assert booked == [True], "the other worker's fill was booked between the reads"
    ledger = ledger_for()
    assert ledger.account_positions() == {"GOOG": 7.0}
    assert reconciled(ledger)[-1].endswith("0 position mismatches"), reconciled(ledger)
    assert live.engine.manager.gate.state != "HALTED"


def test_a_mismatch_a_recheck_does_not_confirm_never_halts(launch, ledger_for, simulator):
    """IB's positions fetched a moment after its executions: twice a fill in flight shows
    (gaps of 3, then 5), then the views agree. Only a gap that persists halts."""
    live = launch("")
    real = live.worker.link.positions
    in_flight = [3.0, 5.0]

    def racing() -> list[BrokerPosition]:
        rows = real()
        if not in_flight:
            return rows
        extra = in_flight.pop(0)
        if not rows:
            return [BrokerPosition("GOOG", extra, 0.0, live.worker.link.client.account or "")]
        return [replace(r, quantity=r.quantity + extra) if r.symbol == "GOOG" else r
                for r in rows]  # fmt: skip

    live.worker.link.positions = racing  # type: ignore[method-assign]
    reconcile_again(live, simulator)
    ledger = ledger_for()

    def settled() -> bool:
        last = reconciled(ledger)[-1]
        return last.startswith("position recheck") and last.endswith("0 position mismatches")

    live.wait_until(settled, 15, "the rechecks found the views agreeing")
    checks = reconciled(ledger)[-3:]
    assert [m.split(":")[0] for m in checks] == ["restored", "position recheck",
                                                 "position recheck"]  # fmt: skip
    assert [m.endswith("1 position mismatches") for m in checks] == [True, True, False]
    assert live.engine.manager.gate.state != "HALTED"
    assert "halted" not in live.engine.events.kinds()


def test_a_fill_between_ibs_executions_and_positions_is_not_a_mismatch(
    launch, ledger_for, simulator
) -> None:
    """Another strategy's order fills at the gateway after IB's executions were fetched and
    before its positions were: the position shows a fill the executions do not. The
    executions are fetched again after the positions, so the pair agrees."""
    live = launch("")
    other = ib_async.IB()
    other.connect("127.0.0.1", simulator.port, clientId=77, timeout=5)
    try:
        goog = other.qualifyContracts(ib_async.Stock("GOOG", "SMART", "USD"))[0]
        trade = other.placeOrder(goog, ib_async.MarketOrder("BUY", 7, orderRef="churn-1"))
        eventually(lambda: other.sleep(0.05) or trade.orderStatus.status != "PendingSubmit",
                   10, "the other order accepted")  # fmt: skip
        real = live.worker.link.positions
        filled: list[int] = []

        def fill_first() -> list[BrokerPosition]:
            if not filled and in_reconcile():  # the next bar fills the other order
                filled.append(simulator.call(simulator.gw.advance, 60) or 1)
            return real()

        live.worker.link.positions = fill_first  # type: ignore[method-assign]
        reconcile_again(live, simulator)
    finally:
        other.disconnect()
    assert filled and sim_ledger(simulator, "churn-")["fills"], "filled mid-reconciliation"
    ledger = ledger_for()
    assert reconciled(ledger)[-1].startswith("restored")
    assert reconciled(ledger)[-1].endswith("0 position mismatches"), reconciled(ledger)
