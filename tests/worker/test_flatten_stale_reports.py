"""A flatten after a reconciliation that ran ahead of queued fill reports (rehearsal, seed 11).

The rehearsal's kill switch did nothing for 15 s: `flatten --all` timed out with no close
order sent. The worker had reconciled (a reconnect, 1101/1102) while the gateway's fill
reports for an order were still queued behind the `LinkReady`: the reconciliation booked
the fill and settled the order from IB's fresh views, then the queued reports were
handled. Their `openOrder` carries the status the library held when it arrived (not yet
Filled, since IB sends the `orderStatus` after it), so the order was adopted again as a
new working order with nothing booked; the queued `Filled` then made it "filled 10,
booked 0" for ever. The flatten waited for that phantom fill, silently, until it timed out.
"""

from __future__ import annotations

import threading
from typing import Any

from tests.fixtures.simulator import eventually
from tradd.worker.channel import Command, request

from .conftest import assert_ledger_matches_simulator, sim_ledger


def hold_loop_then_reconcile(live: Any) -> tuple[threading.Event, threading.Event]:
    """Park the worker's loop inside the next `status` command; when released, reconcile
    there (as on a `LinkReady`), with whatever arrived meanwhile still queued behind it."""
    engine = live.engine
    parked, release = threading.Event(), threading.Event()
    original = engine.handle

    def handle(event: object) -> None:
        if isinstance(event, Command) and event.name == "status" and event.args.get("park"):
            parked.set()
            release.wait(10)
            engine.reconcile("restored")
        original(event)

    engine.handle = handle
    return parked, release


def test_a_flatten_after_a_reconcile_ahead_of_queued_fill_reports_closes(
    launch, simulator, ledger_for, library
) -> None:
    live = launch("1:BUY:10", library=library, worker={"flatten_timeout": 5.0})
    simulator.call(simulator.gw.faults.withhold_fills)
    live.advance(60)  # bar 1: the buy goes out and is acknowledged
    live.advance(5)  # it fills at the gateway; the reports are held
    assert sim_ledger(simulator)["positions"] == {"GOOG": 10}
    assert live.engine.manager.book.positions() == {}
    parked, release = hold_loop_then_reconcile(live)
    waiter = threading.Thread(target=live.worker.command, args=("status",),
                              kwargs={"park": True, "timeout": 20.0})  # fmt: skip
    waiter.start()
    assert parked.wait(10)
    inbox = live.worker.link.inbox
    simulator.call(simulator.gw.faults.release_fills)  # exec, openOrder, orderStatus, ...
    eventually(lambda: inbox.qsize() >= 4, 10, "the fill reports queued behind the loop")
    release.set()
    waiter.join(20)
    live.settle()
    manager = live.engine.manager
    assert manager.book.position("GOOG").quantity == 10
    assert manager.working.unsettled() == [], "a settled order came back as a phantom"
    reply = request(live.worker.channel_path, "flatten", requested_by="test", timeout=30)
    assert reply["ok"], reply
    result = reply["result"]
    assert result["ok"] is True, result
    assert result["symbols"] == {"GOOG": {"before": 10.0, "after": 0.0, "result": "flat"}}
    assert len(result["orders"]) == 1
    assert sim_ledger(simulator)["positions"] == {}
    assert_ledger_matches_simulator(simulator, ledger_for())
