"""An order's row agrees with its fills, however the fills were booked.

A worker killed between sending an order and hearing of its fill books the fill at the
next start, from the gateway's executions; the order's final status then comes from its
completed-orders list, which carries no filled quantity or average price. The order row
must still say what its fills say (issue 15: 13 of 1,165 orders `Filled` with `filled = 0`).
"""

from __future__ import annotations

import signal

import pytest

from tests.fixtures.simulator import eventually
from tradd.persistence.models import OrderStatus
from tradd.worker.channel import request

from .conftest import assert_ledger_matches_simulator, sim_ledger
from .test_process import bar, booked, spawn, wait_ready, write_config

__all__ = ["spawn"]  # the fixture, imported for the tests here


def assert_order_agrees_with_fills(ledger, order_ref: str) -> None:
    fills = [f for f in ledger.fills() if f.order_ref == order_ref]
    assert fills, f"{order_ref} has no fills"
    quantity = sum(f.quantity for f in fills)
    average = sum(f.quantity * f.price for f in fills) / quantity
    order = ledger.order(order_ref)
    assert (order.status, order.filled) == (OrderStatus.FILLED, pytest.approx(quantity))
    assert order.avg_fill_price == pytest.approx(average)


def test_a_fill_booked_by_reconciliation_after_a_kill_fills_the_order_row(
    tmp_path, spawn, simulator, sqlite_url, ledger_for
) -> None:
    config = write_config(tmp_path, simulator, sqlite_url, params={"script": "1:BUY:10"})
    proc = spawn(config, failpoints="after_send")  # killed before it hears of the fill
    wait_ready(tmp_path, proc)
    bar(simulator)
    assert proc.wait(20) == -signal.SIGKILL
    eventually(lambda: sim_ledger(simulator)["fills"], 10, "the order filled at the gateway")
    ledger = ledger_for()
    assert ledger.order("s1-1").status == OrderStatus.CREATED and not ledger.fills()
    proc = spawn(config)
    sock = wait_ready(tmp_path, proc)  # ready = reconciled: the fill is booked by now
    eventually(lambda: booked(ledger, 1), 10, "the fill booked with its commission")
    assert_order_agrees_with_fills(ledger, "s1-1")
    assert_ledger_matches_simulator(simulator, ledger)
    assert request(sock, "status")["result"]["positions"]["GOOG"]["quantity"] == 10
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(20) == 0
