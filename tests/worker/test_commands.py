"""Commands through the worker's Unix socket: status, flatten, pause/resume, bad input;
and the reconciliation halt on a position nobody in tradd explains."""

from __future__ import annotations

import json
import socket

import ib_async
import pytest

from tests.fixtures.simulator import eventually
from tradd.persistence.models import OrderStatus
from tradd.records.events import Event, EventKind, HaltCause
from tradd.supervisor.alerting import from_worker
from tradd.worker.channel import request

from .conftest import assert_ledger_matches_simulator, sim_ledger


def channel(live):
    return live.worker.channel_path


def test_status_reports_the_worker(launch) -> None:
    live = launch("1:BUY:10")
    live.advance(60)
    reply = request(channel(live), "status")
    assert reply["ok"] is True
    status = reply["result"]
    assert status["strategy"] == "s1" and status["connection"] == "connected"
    assert status["circuit"] == "closed" and status["trading_state"] == "ACTIVE"
    assert status["positions"]["GOOG"]["quantity"] == 10
    assert status["equity"] > 0 and status["feeds"] == {"GOOG": "ok"}
    assert status["last_bar"].startswith("2006-01-10T14:30")


def test_flatten_cancels_closes_confirms_and_halts(launch, ledger_for, simulator) -> None:
    live = launch("1:BUY:10;2:LIMIT_BUY:5;3:BUY:1", entry={"params": {"offset": 5.0}})
    live.advance(60)
    live.advance(60)
    assert len(live.engine.manager.working.working()) == 1  # the resting limit
    reply = request(channel(live), "flatten", requested_by="test", timeout=30)
    assert reply["ok"], reply
    result = reply["result"]
    assert result["ok"] is True and result["requested_by"] == "test"
    assert result["symbols"] == {"GOOG": {"before": 10.0, "after": 0.0, "result": "flat"}}
    assert result["cancelled"] == ["s1-2"]
    ledger = ledger_for()
    assert ledger.order("s1-2").status == OrderStatus.CANCELLED
    assert sim_ledger(simulator)["positions"] == {}
    assert_ledger_matches_simulator(simulator, ledger)
    assert ledger.state().trading_state == "HALTED"
    # The strategy saw the close as an order of its own: its trade closed, as in a backtest.
    (close_ref,) = result["orders"]
    strategy = live.worker.cerebro.runningstrats[0]
    assert [s for r, s, _, _ in strategy.notes if r == close_ref][-1] == "Completed"
    assert strategy.getposition(strategy.datas[0]).size == 0
    trades = [t for ts in strategy._trades[strategy.datas[0]].values() for t in ts]
    assert len(trades) == 1 and trades[0].isclosed
    live.advance(60)  # bar 3: the strategy's buy is refused while halted
    assert ledger.risk_decisions()[-1].action == "BLOCKED"
    assert request(channel(live), "resume")["result"]["trading_state"] == "ACTIVE"
    assert ledger.state().trading_state == "ACTIVE"


def test_second_flatten_while_one_runs_is_a_conflict(launch, simulator) -> None:
    live = launch("1:BUY:10")
    live.advance(60)
    simulator.call(simulator.gw.faults.connectivity_lost)  # the close cannot go out yet
    live.wait_until(lambda: not live.worker.link.usable, 5)
    first = live.worker.link.inbox
    from tradd.records.worker_protocol import WorkerCommand
    from tradd.worker.channel import Command

    pending = Command(WorkerCommand.FLATTEN, {"requested_by": "a"})
    first.put(pending)
    again = request(channel(live), "flatten", requested_by="b")
    assert again == {"ok": False, "error": {"code": "conflict",
                                            "message": "a flatten is already in progress"}}  # fmt: skip
    simulator.call(simulator.gw.faults.connectivity_restored)
    got = pending.reply.result(20)
    assert got["ok"] is True, got


def test_pause_allows_exits_only(launch, ledger_for) -> None:
    live = launch("1:BUY:10;3:BUY:5;4:SELL:10")
    live.advance(60)
    assert request(channel(live), "pause")["result"]["trading_state"] == "REDUCING"
    for _ in range(3):
        live.advance(60)
    ledger = ledger_for()
    assert [(o.side, o.quantity) for o in ledger.orders()] == [("BUY", 10), ("SELL", 10)]
    assert [d.action for d in ledger.risk_decisions()] == ["APPROVED", "BLOCKED", "APPROVED"]


@pytest.mark.parametrize(
    ("line", "code"),
    [
        (b"not json\n", "bad_json"),
        (b"[1,2]\n", "bad_request"),
        (b'{"cmd": "launch_missiles"}\n', "unknown_command"),
        (b'{"nocmd": 1}\n', "unknown_command"),
        (b"\xff\xfe\n", "bad_json"),
    ],
)
def test_malformed_requests_get_an_error_and_the_worker_carries_on(launch, line, code) -> None:
    live = launch("")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        sock.connect(str(channel(live)))
        sock.sendall(line + b'{"cmd": "ping"}\n')
        reader = sock.makefile("rb")
        first, second = json.loads(reader.readline()), json.loads(reader.readline())
    assert first["ok"] is False and first["error"]["code"] == code
    assert second["ok"] is True


def test_oversized_request_is_refused(launch) -> None:
    live = launch("")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        sock.connect(str(channel(live)))
        sock.sendall(b"x" * 70_000 + b"\n")
        reply = json.loads(sock.makefile("rb").readline())
    assert reply["error"]["code"] == "too_large"
    assert request(channel(live), "ping")["ok"] is True


def test_unexplained_position_halts_the_strategy(launch, ledger_for, simulator) -> None:
    """A trade made outside tradd in one of the strategy's symbols: on the next
    reconciliation the ledger cannot explain the account's position."""
    live = launch("1:BUY:10;3:BUY:5")
    live.advance(60)
    manual = ib_async.IB()
    manual.connect("127.0.0.1", simulator.port, clientId=77, timeout=5)
    try:
        goog = manual.qualifyContracts(ib_async.Stock("GOOG", "SMART", "USD"))[0]
        trade = manual.placeOrder(goog, ib_async.MarketOrder("BUY", 7))
        eventually(lambda: manual.sleep(0.05) or trade.isDone(), 10, "manual fill")
    finally:
        manual.disconnect()
    simulator.call(simulator.gw.faults.drop)
    live.wait_until(lambda: live.engine.manager.gate.state == "HALTED", 20, "halted")
    ledger = ledger_for()
    assert "GOOG: the account holds 17" in ledger.state().reason
    [halt] = [e for e in live.engine.events.since(0) if e.kind is EventKind.HALTED]
    assert halt.cause is HaltCause.POSITION_MISMATCH
    heard = from_worker("s1", Event.model_validate(halt.as_dict()))  # as the supervisor hears it
    assert heard.kind == "mismatch" and heard.severity == "critical"
    live.advance(120)  # bar 3's buy is refused
    assert ledger.risk_decisions()[-1].action == "BLOCKED"
    assert [o.order_ref for o in ledger.orders()] == ["s1-1"]


def test_while_paused_a_second_exit_in_flight_is_not_an_exit(launch, ledger_for) -> None:
    """Long 10, paused: the first SELL 10 reduces; the second, sent before the first has
    filled, would take the position short, so it is refused."""
    live = launch("1:BUY:10;2:SELL:10;2:SELL:10")
    live.advance(60)
    assert request(channel(live), "pause")["ok"]
    live.advance(60)
    ledger = ledger_for()
    assert [(o.side, o.quantity) for o in ledger.orders()] == [("BUY", 10), ("SELL", 10)]
    assert [d.action for d in ledger.risk_decisions()] == ["APPROVED", "APPROVED", "BLOCKED"]
    assert ledger.account_positions() == {}


def test_pause_does_not_lift_a_halt(launch) -> None:
    live = launch("")
    live.engine.halt("test", HaltCause.STRATEGY_ERROR)
    reply = request(channel(live), "pause")
    assert reply["ok"] is False and reply["error"]["code"] == "conflict"
    assert live.engine.manager.gate.state == "HALTED"
