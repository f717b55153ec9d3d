"""An order whose fate IB's views no longer cover is never called unsent (issue 15).

The rehearsal's lost fills: a worker was killed after sending orders, before it heard of
their fills; it came back after the simulated day had turned, when IB (like the
simulator) no longer lists yesterday's orders and executions. Reconciliation took their
absence for proof they were never sent, marked them `NotSent` "never reached IB", and
the fills were lost. Absence proves that only for orders placed since IB's day began.
A late report from IB of an order tradd had written off reopens it and books its fills.
"""

from __future__ import annotations

import signal

from tests.fixtures.simulator import eventually
from tradd.persistence.models import OrderStatus
from tradd.simgw.background import BackgroundGateway
from tradd.simgw.gateway import first_open
from tradd.worker.channel import request

from .conftest import assert_ledger_matches_simulator, sim_ledger
from .test_fills_agree import assert_order_agrees_with_fills
from .test_process import bar, booked, spawn, wait_ready, write_config

__all__ = ["spawn"]  # the fixture, imported for the tests here


def skip_to_next_open(sim: BackgroundGateway) -> None:
    """Closed time skipped in one jump, as the simulator does at speed: the day turns."""
    gw = sim.gw

    def skip() -> None:
        opens = first_open(gw.tapes, gw.sim_time + 8 * 3600)  # past the close
        assert opens is not None
        gw.clock.set(opens - 5)
        gw.replay.next_boundary = opens

    sim.call(skip)
    sim.call(gw.advance, 5)


def test_an_order_filled_before_the_day_turned_is_unknown_not_unsent(
    tmp_path, spawn, simulator, sqlite_url, ledger_for
) -> None:
    config = write_config(tmp_path, simulator, sqlite_url, params={"script": "1:BUY:10"})
    proc = spawn(config, failpoints="after_send")  # killed before it hears of the fill
    wait_ready(tmp_path, proc)
    bar(simulator)
    assert proc.wait(20) == -signal.SIGKILL
    eventually(lambda: sim_ledger(simulator)["fills"], 10, "the order filled at the gateway")
    skip_to_next_open(simulator)
    gateway = sim_ledger(simulator)
    assert (gateway["orders"], gateway["fills"]) == ([], {})  # yesterday's: no longer listed
    assert gateway["positions"] == {"GOOG": 10}
    proc = spawn(config)
    sock = wait_ready(tmp_path, proc)
    ledger = ledger_for()
    order = ledger.order("s1-1")
    assert order is not None and order.status == OrderStatus.UNKNOWN, order
    assert "trading day" in (order.reason or "")
    # What the fill did shows in the position: the strategy halts on the mismatch.
    halted = lambda: request(sock, "status")["result"]["trading_state"] == "HALTED"  # noqa: E731
    eventually(halted, 15, "halted on the position mismatch")
    assert "GOOG: the account holds 10" in (ledger.state().reason or "")
    assert sim_ledger(simulator)["orders"] == []  # nothing sent again
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(20) == 0


def test_a_fill_for_an_order_written_off_reopens_it_and_is_booked(
    tmp_path, spawn, simulator, sqlite_url, ledger_for
) -> None:
    """Whatever wrote an order off (`NotSent`, `Unknown`), IB reporting it later proves it
    reached IB: its fill is booked and the order row follows IB."""
    config = write_config(tmp_path, simulator, sqlite_url, params={"script": "1:BUY:10"})
    proc = spawn(config, failpoints="after_send")
    wait_ready(tmp_path, proc)
    bar(simulator)
    assert proc.wait(20) == -signal.SIGKILL
    eventually(lambda: sim_ledger(simulator)["fills"], 10, "the order filled at the gateway")
    ledger = ledger_for()
    for status in (OrderStatus.NOT_SENT, OrderStatus.UNKNOWN):
        ledger.update_order("s1-1", status=status, filled=0.0, remaining=10.0,
                            avg_fill_price=None, message="written off")  # fmt: skip
    assert ledger.order("s1-1").status == OrderStatus.UNKNOWN
    proc = spawn(config)
    sock = wait_ready(tmp_path, proc)
    eventually(lambda: booked(ledger, 1), 10, "the fill booked with its commission")
    assert_order_agrees_with_fills(ledger, "s1-1")
    assert_ledger_matches_simulator(simulator, ledger)
    assert request(sock, "status")["result"]["positions"]["GOOG"]["quantity"] == 10
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(20) == 0


def test_an_order_written_off_but_working_at_ib_is_adopted_again(
    tmp_path, spawn, simulator, sqlite_url, ledger_for
) -> None:
    """IB listing a written-off order as working reopens it (a stale verdict of tradd's
    must not hide a live order: its later fills would find no working order)."""
    params = {"script": "1:LIMIT_BUY:10", "offset": 5.0}  # rests well below the market
    config = write_config(tmp_path, simulator, sqlite_url, params=params)
    proc = spawn(config, failpoints="after_send")
    wait_ready(tmp_path, proc)
    bar(simulator)
    assert proc.wait(20) == -signal.SIGKILL
    eventually(lambda: sim_ledger(simulator)["orders"], 10, "the order resting at the gateway")
    ledger = ledger_for()
    ledger.update_order("s1-1", status=OrderStatus.NOT_SENT, filled=0.0, remaining=10.0,
                        avg_fill_price=None, message="written off")  # fmt: skip
    proc = spawn(config)
    wait_ready(tmp_path, proc)
    eventually(lambda: ledger.order("s1-1").status == OrderStatus.SUBMITTED, 10, "adopted")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(20) == 0
