"""Each fault of the simulator's catalogue, with the worker recovering.

After every fault the database's fills and positions equal the simulator's and no order
went out twice (`assert_ledger_matches_simulator`).
"""

from __future__ import annotations

import pytest

from tests.fixtures.simulator import eventually
from tradd.ib.events import LinkState
from tradd.persistence.models import OrderStatus

from .conftest import assert_ledger_matches_simulator, sim_ledger


def notes_of(live):
    return live.worker.cerebro.runningstrats[0].notes


def statuses(live, ref):
    return [status for r, status, _, _ in notes_of(live) if r == ref]


def wait_ready_again(live, count):
    live.wait_until(lambda: live.engine.ready_count >= count and live.worker.link.usable,
                    20, f"ready #{count}")  # fmt: skip


def test_drop_mid_position_reconnects_and_books_fills_made_while_down(
    launch, ledger_for, simulator, library
) -> None:
    """A resting limit fills while the socket is gone; the reconnect books it once."""
    live = launch("1:BUY:10;2:LIMIT_SELL:10", library=library, entry={"params": {"offset": 0.3}})
    live.advance(120)
    assert live.engine.manager.working.working()
    simulator.call(simulator.gw.faults.drop, reset=library == "ib_insync")
    live.wait_until(lambda: not live.worker.link.usable, 10, "link down")
    simulator.run(lambda: simulator.gw.faults.refuse(None))
    simulator.call(simulator.gw.advance, 3600)  # the limit trades through while we are away
    live.clock.catch_up()
    simulator.run(simulator.gw.faults.accept)
    wait_ready_again(live, 2)
    live.settle()
    ledger = ledger_for()
    assert_ledger_matches_simulator(simulator, ledger)
    assert ledger.order("s1-2").status == OrderStatus.FILLED
    assert statuses(live, "s1-2")[-1] == "Completed"  # the strategy heard of the fill
    # Every reqExecutions re-sends today's commission reports: each counted once.
    book = live.engine.manager.book
    assert book.commission == pytest.approx(sum(f.commission or 0 for f in ledger.fills()))
    assert book.position("GOOG").quantity == 0
    assert live.engine.events.kinds().count("reconnected") == 1
    assert any(e.kind == "reconciled" and "1 new fills" in e.message
               for e in ledger.connection_events())  # fmt: skip


def test_nightly_restart_window_backs_off_then_recovers(launch, ledger_for, simulator) -> None:
    live = launch("1:BUY:10")
    live.advance(60)
    simulator.run(lambda: simulator.gw.faults.refuse(None))
    live.wait_until(lambda: live.worker.link.manager.breaker.failures >= 3, 10, "3 refusals")
    assert live.worker.command("status")["connection"] in ("disconnected", "connecting")
    simulator.run(simulator.gw.faults.accept)
    wait_ready_again(live, 2)
    assert_ledger_matches_simulator(simulator, ledger_for())
    kinds = [e.kind for e in ledger_for().connection_events()]
    assert "disconnected" in kinds and kinds.count("ready") == 2


def test_circuit_opens_halts_orders_then_half_open_probe_closes_it(
    launch, simulator, tmp_path
) -> None:
    live = launch("2:BUY:1", broker={"circuit": {"failure_threshold": 2, "open_seconds": 1.0}})
    simulator.run(lambda: simulator.gw.faults.refuse(None))
    live.wait_until(lambda: "circuit_open" in live.engine.events.kinds(), 10, "circuit open")
    assert live.worker.command("status")["circuit"] in ("open", "half_open")
    assert "not connected" in live.engine.blocked_reason()
    simulator.run(simulator.gw.faults.accept)
    wait_ready_again(live, 2)
    assert live.worker.link.manager.circuit == "closed"


def test_stalled_gateway_is_detected_by_the_probe(launch, ledger_for, simulator) -> None:
    live = launch("1:BUY:10")
    live.advance(60)
    simulator.call(simulator.gw.faults.stall)
    live.wait_until(lambda: not live.worker.link.usable, 15, "stall detected")
    simulator.call(simulator.gw.faults.unstall)
    wait_ready_again(live, 2)
    live.settle()
    assert_ledger_matches_simulator(simulator, ledger_for())
    reasons = [e.message for e in ledger_for().connection_events() if e.kind == "disconnected"]
    assert any("did not answer a probe within 2s" in r for r in reasons), reasons


def test_connectivity_lost_halts_orders_and_held_fills_arrive_on_1102(
    launch, ledger_for, simulator, library
) -> None:
    live = launch("1:LIMIT_BUY:10;3:BUY:5", library=library, entry={"params": {"offset": 0.3}})
    live.advance(60)
    simulator.call(simulator.gw.faults.connectivity_lost)
    live.wait_until(lambda: live.worker.link.state is LinkState.CONNECTIVITY_LOST, 5, "1100")
    live.sync()
    simulator.call(simulator.gw.advance, 3600)  # the limit fills; its report is held
    live.clock.catch_up()
    live.sync()
    assert ledger_for().fills() == []
    simulator.call(simulator.gw.faults.connectivity_restored)
    wait_ready_again(live, 2)
    live.advance(120)  # bar 3: the market order goes out after 1102
    ledger = ledger_for()
    assert_ledger_matches_simulator(simulator, ledger)
    assert [o.status for o in ledger.orders()] == [OrderStatus.FILLED, OrderStatus.FILLED]


def test_order_during_1100_is_refused_with_a_reason(launch, ledger_for, simulator) -> None:
    """The simulator stops data during 1100, so no bar can trigger an order: the order
    is handed to the worker's order manager directly (its loop is idle meanwhile)."""
    from tradd.ib.orders import OrderIntent, Refused

    live = launch("")
    live.advance(60)
    simulator.call(simulator.gw.faults.connectivity_lost)
    live.wait_until(lambda: "disconnected" in live.engine.events.kinds(), 5, "1100 handled")
    intent = OrderIntent("GOOG", "BUY", 10, "MKT", None, None, "DAY", 463.0)
    result = live.engine.manager.submit([intent])
    assert isinstance(result, Refused)
    assert result.reason.startswith("not connected to IB (connectivity_lost: 1100")
    (decision,) = ledger_for().risk_decisions()
    assert decision.action == "BLOCKED" and decision.rule == "TRADING_GATE"
    assert ledger_for().orders() == [] and sim_ledger(simulator)["orders"] == []
    simulator.call(simulator.gw.faults.connectivity_restored)
    wait_ready_again(live, 2)
    assert live.engine.blocked_reason() == ""


def test_data_lost_1101_resubscribes_and_bars_flow(launch, ledger_for, simulator, library) -> None:
    live = launch("3:BUY:10", library=library)
    live.advance(60)
    bars_before = live.worker.cerebro.runningstrats[0].live_bars
    simulator.call(simulator.gw.faults.connectivity_lost)
    simulator.call(simulator.gw.faults.connectivity_restored, data_lost=True)
    wait_ready_again(live, 2)
    live.advance(120)
    assert live.worker.cerebro.runningstrats[0].live_bars == bars_before + 2
    assert ledger_for().orders()[0].status == OrderStatus.FILLED
    assert_ledger_matches_simulator(simulator, ledger_for())


def test_silent_data_stop_is_resubscribed_then_stale_halts_orders(launch, ledger_for, simulator):
    live = launch("")
    live.advance(60)
    simulator.call(simulator.gw.faults.ignore, 50)  # reqRealTimeBars goes unanswered
    simulator.call(simulator.gw.core.market.drop_all)  # bars stop, no error
    live.advance(31)
    assert live.engine.watchdog.health["GOOG"] == "resubscribed"
    live.advance(31)
    assert live.engine.watchdog.stale == ["GOOG"]
    assert "market data stale for GOOG" in live.engine.blocked_reason()
    assert "data_stale" in live.engine.events.kinds()
    simulator.call(simulator.gw.faults.heed, 50)
    live.advance(31)  # the next retry is answered
    live.advance(10)
    assert live.engine.watchdog.health["GOOG"] == "ok"
    assert live.engine.blocked_reason() == ""
    assert "data_resumed" in live.engine.events.kinds()


def test_farm_notices_are_recorded_and_trading_goes_on(launch, ledger_for, simulator) -> None:
    live = launch("2:BUY:10")
    for code in (2103, 2105, 2104, 2106):
        simulator.call(simulator.gw.faults.farm_notice, code)
    live.advance(120)
    ledger = ledger_for()
    farm = [e.code for e in ledger.connection_events() if e.kind == "farm"]
    assert farm[:2] == [2104, 2106]  # sent by the gateway on connect
    assert farm[-4:] == [2103, 2105, 2104, 2106]
    assert ledger.orders()[0].status == OrderStatus.FILLED


@pytest.mark.parametrize("code", [201, 103, 110, 321])
def test_rejected_order_reaches_the_strategy_and_is_not_retried(
    launch, ledger_for, simulator, library, code
) -> None:
    live = launch("1:BUY:10;2:BUY:3", library=library)
    simulator.call(simulator.gw.faults.reject_next, code)
    live.advance(120)
    ledger = ledger_for()
    first, second = ledger.orders()
    assert first.status == OrderStatus.REJECTED
    assert str(code) in (first.reason or "")
    assert second.status == OrderStatus.FILLED
    assert statuses(live, "s1-1")[-1] in ("Rejected", "Margin")
    assert_ledger_matches_simulator(simulator, ledger)


def test_pacing_violation_on_warm_up_history_is_retried(
    tmp_path, simulator, sqlite_url, start_worker
) -> None:
    from tests.fixtures.simulator import strategy_entry, worker_settings

    simulator.call(simulator.gw.faults.pacing_violations, 1)
    settings = worker_settings(tmp_path, simulator.port, sqlite_url, [strategy_entry()])
    live = start_worker(settings, simulator).ready(20)
    assert "resync_failed" in live.engine.events.kinds()
    assert len(live.worker.cerebro.runningstrats[0]) > 0 or live.engine.store.feeds["GOOG"].pending


def test_no_order_goes_out_until_the_reconnect_is_reconciled(launch, simulator) -> None:
    """The gap-fill after a reconnect fails (pacing) and is retried: in between, the
    link is usable but the ledger may be stale, so the trading gate stays shut."""
    live = launch("1:BUY:10")
    live.advance(60)
    simulator.call(simulator.gw.faults.drop, reset=False)
    live.wait_until(lambda: not live.worker.link.usable, 10, "link down")
    simulator.run(lambda: simulator.gw.faults.refuse(None))
    simulator.call(simulator.gw.advance, 600)  # bars missed while away: a gap to fill
    live.clock.catch_up()
    simulator.call(simulator.gw.faults.pacing_violations, 1)
    simulator.run(simulator.gw.faults.accept)
    live.wait_until(lambda: "resync_failed" in live.engine.events.kinds(), 20, "re-sync failed")
    assert live.worker.link.usable and live.engine.ready_count == 1
    assert "re-syncing with IB" in live.engine.blocked_reason()
    wait_ready_again(live, 2)
    assert live.engine.blocked_reason() == ""


def test_partial_fills_are_booked_each_once(launch, ledger_for, simulator, library) -> None:
    live = launch("1:BUY:30", library=library)
    simulator.call(simulator.gw.faults.partial_fills, 3)
    live.advance(60)  # the order goes out at the end of the first bar: one part fills
    live.advance(30)  # the rest fill on the next buckets
    ledger = ledger_for()
    assert [f.quantity for f in ledger.fills()] == [10.0, 10.0, 10.0]
    assert statuses(live, "s1-1") == ["Submitted", "Accepted", "Partial", "Partial", "Completed"]
    assert_ledger_matches_simulator(simulator, ledger)
    assert live.engine.manager.book.position("GOOG").quantity == 30


def test_burst_of_late_fills_after_withhold(launch, ledger_for, simulator, library) -> None:
    live = launch("1:BUY:10;2:BUY:5;3:SELL:15", library=library)
    simulator.call(simulator.gw.faults.withhold_fills)
    live.advance(180)
    assert ledger_for().fills() == []
    simulator.call(simulator.gw.faults.release_fills)
    live.settle()
    ledger = ledger_for()
    assert len(ledger.fills()) == 3
    assert_ledger_matches_simulator(simulator, ledger)
    assert live.engine.manager.book.position("GOOG").quantity == 0


def test_duplicate_exec_details_are_booked_once(launch, ledger_for, simulator, library) -> None:
    live = launch("1:BUY:10;2:SELL:10", library=library)
    simulator.call(simulator.gw.faults.duplicate_exec_details, 4)
    live.advance(120)
    live.settle()
    ledger = ledger_for()
    assert len(ledger.fills()) == 2
    assert_ledger_matches_simulator(simulator, ledger)
    assert statuses(live, "s1-1").count("Completed") == 1


def test_an_execution_reported_again_is_booked_once(launch, ledger_for, simulator) -> None:
    """The libraries drop a duplicate execDetails within one connection themselves; across
    reconnects and reconciliations the same execution comes back, and only tradd's own
    deduplication stands between it and a doubled position."""
    from tradd.ib.events import CommissionReceived, ExecutionReceived
    from tradd.ib.types import Commission, Execution

    live = launch("1:BUY:10")
    live.advance(60)
    live.settle()
    (fill,) = ledger_for().fills()
    again = Execution(fill.exec_id, fill.ib_order_id or 0, fill.perm_id or 0, fill.order_ref,
                      fill.symbol, "BUY", fill.quantity, fill.price, fill.executed_at)  # fmt: skip
    for _ in range(3):
        live.worker.link.inbox.put(ExecutionReceived(again))
        live.worker.link.inbox.put(CommissionReceived(Commission(fill.exec_id, 1.0, None)))
    live.sync()
    book = live.engine.manager.book
    assert book.position("GOOG").quantity == 10 and book.commission == 1.0
    assert statuses(live, "s1-1").count("Completed") == 1
    assert live.worker.command("status")["positions"]["GOOG"]["quantity"] == 10
    assert_ledger_matches_simulator(simulator, ledger_for())


def test_a_library_cancel_on_a_notice_code_leaves_the_order_working(launch, ledger_for) -> None:
    """Both libraries mark an order Cancelled on any error naming it; 10349 ("TIF set to
    DAY based on order preset") is a notice about an order IB keeps working."""
    from tradd.ib.events import OrderChanged
    from tradd.ib.types import OrderUpdate

    live = launch("1:LIMIT_BUY:10")
    live.advance(60)
    (order,) = ledger_for().orders()
    assert order.status == "Submitted"
    fake = OrderUpdate(order.ib_order_id or 0, order.perm_id or 0, order.order_ref, "GOOG",
                       "Cancelled", 0.0, 10.0, 0.0, "Order TIF was set to DAY based on order "
                       "preset", "BUY", 10.0, "LMT", error_code=10349)  # fmt: skip
    live.worker.link.inbox.put(OrderChanged(fake))
    live.sync()
    assert ledger_for().order(order.order_ref).status == "Submitted"
    assert live.engine.manager.working.working() == [order.order_ref]
    assert statuses(live, order.order_ref)[-1] == "Accepted"


def test_bracket_parent_and_children_reach_ib_as_one(launch, ledger_for, simulator) -> None:
    live = launch("1:BRACKET:10", entry={"params": {"offset": 0.5}})
    live.advance(60)
    live.settle()
    ledger = ledger_for()
    parent, stop, target = ledger.orders()
    assert stop.parent_ref == target.parent_ref == parent.order_ref
    assert parent.status == OrderStatus.FILLED
    live.advance(6 * 3600)
    live.settle()
    ledger = ledger_for()
    assert {o.status for o in ledger.orders()[1:]} == {OrderStatus.FILLED, OrderStatus.CANCELLED}
    assert_ledger_matches_simulator(simulator, ledger)
    assert ledger.account_positions() == {}
    eventually(lambda: not live.engine.manager.working.working(), 5, "bracket done")
