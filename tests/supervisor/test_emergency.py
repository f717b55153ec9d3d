"""The supervisor's kill switch without the worker, against the simulator and real workers.

A worker takes a position, is hung (SIGSTOP) and killed (SIGKILL) as the supervisor
does; `flatten_strategy` then flattens through its own connection on the strategy's
clientId, books what the hung worker missed, and the restarted worker comes up HALTED,
reconciles cleanly and is flat, with no order sent twice. `sweep_account` closes every
position of the account, whichever client opened it.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.simulator import eventually
from tests.worker import conftest as worker_fixtures
from tests.worker import test_process
from tests.worker.conftest import assert_ledger_matches_simulator, sim_ledger
from tests.worker.test_process import bar, booked, wait_ready, write_config
from tradd.config.loader import load_settings
from tradd.config.settings import Settings
from tradd.ib.link import IBLink
from tradd.ib.types import OrderSpec, Side
from tradd.persistence.db import open_database
from tradd.persistence.ledger import Ledger
from tradd.persistence.models import OrderStatus
from tradd.simgw.background import BackgroundGateway
from tradd.supervisor.emergency import flatten_strategy, mark_halted, sweep_account
from tradd.worker.channel import request

sqlite_url = worker_fixtures.sqlite_url
ledger_for = worker_fixtures.ledger_for
spawn = test_process.spawn
library = worker_fixtures.library
Spawn = Callable[..., subprocess.Popen[str]]


def load(config: Path) -> Settings:
    return load_settings(config, environ={}, dotenv_path=None)


@pytest.fixture
def sessions(sqlite_url: str) -> Iterator[Any]:
    engine, factory = open_database(sqlite_url)
    yield factory
    engine.dispose()


def working(ledger: Ledger, ref: str) -> bool:
    order = ledger.order(ref)
    return order is not None and order.status == OrderStatus.SUBMITTED


def kill_hung(proc: subprocess.Popen[str]) -> None:
    """What the supervisor does to a worker that stopped answering."""
    proc.send_signal(signal.SIGSTOP)
    proc.kill()
    assert proc.wait(10) == -signal.SIGKILL


def hung_with_a_working_limit(tmp_path, spawn, simulator, sqlite_url, ledger_for) -> Any:
    """A worker process that bought 10 GOOG and has a limit buy of 5 working, then hung and
    killed as the supervisor would; its config and ledger."""
    config = write_config(tmp_path, simulator, sqlite_url,
                          params={"script": "1:BUY:10;2:LIMIT_BUY:5"})  # fmt: skip
    proc = spawn(config)
    wait_ready(tmp_path, proc)
    bar(simulator)
    bar(simulator)
    ledger = ledger_for()
    eventually(lambda: working(ledger, "s1-2"), 10, "limit working")
    kill_hung(proc)
    return config, ledger


def sim_open_orders(sim: BackgroundGateway) -> list[str]:
    return sim.call(lambda: [o.order_ref for o in sim.gw.state.orders.values() if not o.is_done])


class Manual:
    """Another IB client (a person at TWS, another program) trading the same account."""

    def __init__(self, settings: Settings, client_id: int = 77) -> None:
        self.link = IBLink(settings.broker, client_id, symbols=())
        self.count = 0

    def __enter__(self) -> Manual:
        self.link.start()
        assert self.link.wait_connected(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self.link.stop()

    def order(self, symbol: str, side: Side, qty: float, limit: float | None = None) -> str:
        self.count += 1
        ref = f"manual-{self.count}"
        self.link.qualify([symbol])
        spec = OrderSpec(ref, symbol, side, qty, "LMT" if limit else "MKT", limit_price=limit)
        self.link.place([spec])
        return ref


def test_flatten_strategy_books_what_a_hung_worker_missed_and_the_restart_is_clean(
    tmp_path, spawn, simulator, sqlite_url, ledger_for, sessions
) -> None:
    config = write_config(tmp_path, simulator, sqlite_url,
                          params={"script": "1:BUY:10;2:LIMIT_BUY:5", "offset": 0.3})  # fmt: skip
    proc = spawn(config)
    wait_ready(tmp_path, proc)
    bar(simulator)
    bar(simulator)
    ledger = ledger_for()
    eventually(lambda: booked(ledger, 1), 10, "the market order booked")
    eventually(lambda: working(ledger, "s1-2"), 10, "limit working")
    proc.send_signal(signal.SIGSTOP)  # hung: the limit fills, the worker never hears of it

    def limit_filled() -> bool:
        simulator.call(simulator.gw.advance, 600)
        return len(sim_ledger(simulator)["fills"]) == 2

    eventually(limit_filled, 20, "the limit filled at the gateway")
    proc.kill()
    assert proc.wait(10) == -signal.SIGKILL
    assert len(ledger.fills()) == 1

    result = flatten_strategy(load(config), "s1", sessions, requested_by="test", timeout=20)

    assert result["ok"], result
    assert result["path"] == "emergency" and result["requested_by"] == "test"
    assert result["symbols"] == {"GOOG": {"before": 15.0, "after": 0.0, "result": "flat",
                                          "account_before": 15.0, "account_after": 0.0}}  # fmt: skip
    assert result["cancelled"] == [] and result["orders"] == ["s1-3"]
    assert sim_ledger(simulator)["positions"] == {}
    assert ledger.order("s1-2").status == OrderStatus.FILLED
    assert ledger.order("s1-3").status == OrderStatus.FILLED
    assert booked(ledger, 3)  # the missed fill and the close, each with its commission
    assert ledger.book().positions() == {}
    assert_ledger_matches_simulator(simulator, ledger)
    state = ledger.state()
    assert state.trading_state == "HALTED" and state.reason == "flattened by test (emergency)"
    assert [d.action for d in ledger.risk_decisions()][-1] == "SYSTEM"

    restarted = spawn(config)
    sock = wait_ready(tmp_path, restarted)
    status = request(sock, "status")["result"]
    assert status["trading_state"] == "HALTED"
    assert status["trading_reason"] == "flattened by test (emergency)"
    assert status["positions"] == {}
    reconciled = [e.message for e in ledger.connection_events() if e.kind == "reconciled"]
    assert "0 new fills, 0 never sent, 0 vanished, 0 position mismatches" in reconciled[-1]
    assert_ledger_matches_simulator(simulator, ledger)  # nothing sent twice
    assert [o.order_ref for o in ledger.orders()] == ["s1-1", "s1-2", "s1-3"]
    assert request(sock, "stop")["ok"]
    assert restarted.wait(20) == 0


def test_flatten_strategy_cancels_a_working_order(
    tmp_path, spawn, simulator, sqlite_url, ledger_for, sessions, library
) -> None:
    """With either client library on the supervisor's side (the worker uses ib_async)."""
    config, ledger = hung_with_a_working_limit(tmp_path, spawn, simulator, sqlite_url, ledger_for)
    assert sim_open_orders(simulator) == ["s1-2"]

    settings = load(config)
    settings = settings.model_copy(
        update={"broker": settings.broker.model_copy(update={"library": library})}
    )
    result = flatten_strategy(settings, "s1", sessions, requested_by="ops", timeout=20)

    assert result["ok"], result
    assert booked(ledger, 2)  # the close's fill with its commission
    assert result["cancelled"] == ["s1-2"] and result["orders"] == ["s1-3"]
    assert result["symbols"]["GOOG"]["result"] == "flat"
    assert sim_open_orders(simulator) == []
    assert ledger.order("s1-2").status == OrderStatus.CANCELLED
    assert sim_ledger(simulator)["positions"] == {}
    assert_ledger_matches_simulator(simulator, ledger)


def test_flatten_strategy_never_pushes_the_account_past_flat(
    tmp_path, spawn, simulator, sqlite_url, ledger_for, sessions
) -> None:
    """Someone else sold part of GOOG and all of ORCL: only what the account holds of the
    strategy's side is closed; a symbol the account does not hold is skipped."""
    script = "1:BUY:10:GOOG;1:BUY:5:ORCL"
    config = write_config(tmp_path, simulator, sqlite_url, symbols=["GOOG", "ORCL"],
                          params={"script": script})  # fmt: skip
    proc = spawn(config)
    wait_ready(tmp_path, proc)
    bar(simulator)
    ledger = ledger_for()
    eventually(lambda: booked(ledger, 2), 10, "both buys booked")
    kill_hung(proc)
    settings = load(config)
    with Manual(settings) as manual:
        manual.order("GOOG", "SELL", 6)
        manual.order("ORCL", "SELL", 5)
        eventually(lambda: sim_ledger(simulator)["positions"] == {"GOOG": 4.0}, 10, "sold")

    result = flatten_strategy(settings, "s1", sessions, requested_by="ops", timeout=20)

    assert not result["ok"]
    goog, orcl = result["symbols"]["GOOG"], result["symbols"]["ORCL"]
    assert (goog["before"], goog["after"], goog["result"]) == (10.0, 6.0, "not flat")
    assert goog["account_after"] == 0.0
    assert orcl["after"] == 5.0 and orcl["result"].startswith("skipped: the account holds 0")
    assert "GOOG not flat" in result["message"] and "ORCL skipped" in result["message"]
    assert [(o.symbol, o.side, o.quantity) for o in ledger.orders()][2:] == [
        ("GOOG", "SELL", 4.0)]  # fmt: skip
    assert sim_ledger(simulator, "")["positions"] == {}
    assert ledger.state().trading_state == "HALTED"


def test_flatten_strategy_waits_out_client_id_in_use(
    tmp_path, simulator, sqlite_url, sessions, monkeypatch
) -> None:
    """IB may still hold the killed worker's socket: 326, retried until it is free."""
    refused = threading.Event()
    log_event = simulator.gw.core.log_event

    def spy(event: str, **fields: object) -> None:
        if event == "simgw.client_id_in_use" and fields.get("client_id") == 11:
            refused.set()
        log_event(event, **fields)

    monkeypatch.setattr(simulator.gw.core, "log_event", spy)
    settings = load(write_config(tmp_path, simulator, sqlite_url))
    quick = settings.broker.model_copy(update={"connect_timeout": 1.0})
    settings = settings.model_copy(update={"broker": quick})
    old = Manual(settings, client_id=11).__enter__()  # the dead worker's socket, still open
    with ThreadPoolExecutor(1) as pool:
        try:
            running = pool.submit(flatten_strategy, settings, "s1", sessions,
                                  requested_by="ops", timeout=15)  # fmt: skip
            assert refused.wait(10), "the emergency link never tried the busy clientId"
        finally:
            old.link.stop()
        result = running.result(20)
    assert result["ok"] and result["message"] == "flat" and result["symbols"] == {}


def test_flatten_strategy_of_an_unknown_strategy_touches_nothing(
    tmp_path, simulator, sqlite_url, sessions, ledger_for
) -> None:
    settings = load(write_config(tmp_path, simulator, sqlite_url))
    result = flatten_strategy(settings, "nope", sessions, requested_by="ops", timeout=5)
    assert not result["ok"] and "no strategy 'nope'" in result["message"]
    assert ledger_for("nope").state() is None


def test_flatten_strategy_without_a_gateway_fails_within_its_timeout(
    tmp_path, simulator, sqlite_url, sessions, ledger_for
) -> None:
    config = write_config(tmp_path, simulator, sqlite_url)
    settings = without_gateway(load(config))
    result = flatten_strategy(settings, "s1", sessions, requested_by="ops", timeout=1.5)
    assert not result["ok"] and result["path"] == "emergency"
    assert "could not connect to IB" in result["message"] and "clientId 11" in result["message"]
    assert ledger_for().state().trading_state == "HALTED"


def test_sweep_closes_every_position_of_the_account_whoever_opened_it(
    tmp_path, spawn, simulator, sqlite_url, ledger_for, sessions
) -> None:
    config, ledger = hung_with_a_working_limit(tmp_path, spawn, simulator, sqlite_url, ledger_for)
    settings = load(config)
    with Manual(settings) as manual:
        manual.order("ORCL", "SELL", 7)
        manual.order("NVDA", "BUY", 50, limit=1.0)  # far below the market: keeps working
        eventually(lambda: len(sim_open_orders(simulator)) == 2, 10, "manual limit working")
    assert sim_ledger(simulator, "")["positions"] == {"GOOG": 10.0, "ORCL": -7.0}
    mark_halted(ledger, "flattened by test")

    result = sweep_account(settings, client_id=0, requested_by="test", timeout=20)

    assert result["ok"], result
    assert result["path"] == "sweep"
    assert result["symbols"] == {
        "GOOG": {"before": 10.0, "after": 0.0, "result": "flat"},
        "ORCL": {"before": -7.0, "after": 0.0, "result": "flat"},
    }
    assert result["cancelled"] == ["manual-2", "s1-2"]
    assert len(result["orders"]) == 2 and all(r.startswith("emergency-") for r in result["orders"])
    assert sim_open_orders(simulator) == []
    assert sim_ledger(simulator, "")["positions"] == {}
    # The sweep's fills are no strategy's: the restarted worker cannot explain the account.
    restarted = spawn(config)
    sock = wait_ready(tmp_path, restarted)
    status = request(sock, "status")["result"]
    assert status["trading_state"] == "HALTED"
    assert status["positions"]["GOOG"]["quantity"] == 10
    reconciled = [e.message for e in ledger.connection_events() if e.kind == "reconciled"]
    assert "1 position mismatches" in reconciled[-1]
    assert request(sock, "stop")["ok"]
    assert restarted.wait(20) == 0


def test_sweep_without_a_gateway_fails_within_its_timeout(tmp_path, simulator, sqlite_url) -> None:
    settings = without_gateway(load(write_config(tmp_path, simulator, sqlite_url)))
    result = sweep_account(settings, client_id=0, requested_by="test", timeout=1.5)
    assert not result["ok"] and result["path"] == "sweep" and result["symbols"] == {}
    assert "could not connect to IB" in result["message"]


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def without_gateway(settings: Settings) -> Settings:
    broker = settings.broker.model_copy(update={"port": closed_port()})
    return settings.model_copy(update={"broker": broker})
