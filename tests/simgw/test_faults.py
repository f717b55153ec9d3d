"""Fault injection against both unmodified client libraries over real TCP.

Each test injects one catalogued fault (``tradd.simgw.faults``) and asserts the
symptom a client sees: disconnects, refusals, silences, notices, rejections,
pacing violations, odd fill reports, and garbage from misbehaving peers.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import struct
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import ib_async
import pytest

from tests.conftest import SAMPLE_DATA, RunCli, SpawnCli
from tradd.simgw.background import BackgroundGateway
from tradd.simgw.wire import FrameReader, encode

from .conftest import GOOG_OPEN, Connect, advance, sim_config, sync, wait_until

HOST = "127.0.0.1"
FAST_SYMBOLS = ("GOOG", "ORCL")


# ---- helpers -------------------------------------------------------------------------------


@pytest.fixture
def sim() -> Iterator[BackgroundGateway]:
    """The shared fixture's gateway minus the intraday future (not traded here): starts faster."""
    with BackgroundGateway(sim_config(symbols=FAST_SYMBOLS)) as gateway:
        yield gateway


def _goog(ib: Any, iblib: ModuleType) -> Any:
    return ib.qualifyContracts(iblib.Stock("GOOG", "SMART", "USD"))[0]


def _open(sim: BackgroundGateway) -> None:
    """Move five minutes into GOOG's session (quick while no client has to take the updates)."""
    sim.call(lambda: sim.gw.advance(GOOG_OPEN + 300 - sim.gw.sim_time))


def _open_then_connect(sim: BackgroundGateway, connect: Connect, client_id: int = 1) -> Any:
    _open(sim)
    return connect(client_id=client_id)


def _error_codes(ib: Any) -> list[tuple[int, int]]:
    """Every (reqId, code) the client's errorEvent reports from now on."""
    seen: list[tuple[int, int]] = []
    ib.errorEvent += lambda req_id, code, *rest: seen.append((req_id, code))
    return seen


def _codes(seen: list[tuple[int, int]]) -> list[int]:
    return [code for _, code in seen]


def _fill(ib: Any, contract: Any, order: Any) -> Any:
    trade = ib.placeOrder(contract, order)
    wait_until(ib, lambda: trade.orderStatus.status == "Filled")
    return trade


def _wait_disconnected(ib: Any, timeout: float = 5.0) -> None:
    """Run the client's loop until it has noticed the connection is gone."""
    deadline = time.monotonic() + timeout
    while ib.isConnected():
        if time.monotonic() > deadline:
            raise AssertionError("client still connected")
        with contextlib.suppress(ConnectionError):  # a sync call may see the disconnect
            ib.waitOnUpdate(timeout=0.2)


def _poll(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    """Wait for something outside any client's event loop (a file, a process)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout}s")
        time.sleep(0.02)


def _record_next_valid_ids(ib: Any) -> list[int]:
    """nextValidId (msg 9) values as they arrive from the wire."""
    seen: list[int] = []
    original = ib.wrapper.nextValidId

    def recording(order_id: int) -> None:
        seen.append(order_id)
        original(order_id)

    ib.wrapper.nextValidId = recording
    return seen


def _daily(ib: Any, contract: Any, duration: str = "1 M", timeout: float = 0) -> list[Any]:
    return list(
        ib.reqHistoricalData(contract, "", duration, "1 day", "TRADES", True, timeout=timeout)
    )


def _position(ib: Any, con_id: int) -> float:
    return sum(p.position for p in ib.positions() if p.contract.conId == con_id)


# ---- connection loss: drop, refuse ------------------------------------------------------------


@pytest.mark.parametrize("reset", [False, True], ids=["fin", "rst"])
def test_drop_then_reconnect_keeps_state(sim, connect: Connect, iblib, reset: bool) -> None:
    ib = _open_then_connect(sim, connect, client_id=3)
    goog = _goog(ib, iblib)
    filled = _fill(ib, goog, iblib.MarketOrder("BUY", 10))
    resting = ib.placeOrder(goog, iblib.LimitOrder("BUY", 5, 100.0))
    wait_until(ib, lambda: resting.orderStatus.status == "Submitted")
    used = {filled.order.orderId, resting.order.orderId}
    exec_id = filled.fills[0].execution.execId
    gone: list[bool] = []
    ib.disconnectedEvent += lambda: gone.append(True)

    dropped = sim.call(sim.gw.faults.drop, reset=reset)

    assert dropped == 1
    _wait_disconnected(ib)
    assert gone == [True]
    assert not ib.isConnected()
    next_ids = _record_next_valid_ids(ib)
    ib.connect(HOST, sim.port, clientId=3, timeout=4)
    assert ib.isConnected()
    assert next_ids and next_ids[0] > max(used)
    assert _position(ib, goog.conId) == 10
    assert [f.execution.execId for f in ib.fills()] == [exec_id]
    assert [f.execution.execId for f in ib.reqExecutions()] == [exec_id]
    assert [t.order.orderId for t in ib.openTrades()] == [resting.order.orderId]
    assert ib.openTrades()[0].orderStatus.status == "Submitted"
    again = _fill(ib, goog, iblib.MarketOrder("SELL", 4))  # a fresh id: no 103 duplicate
    assert again.order.orderId > max(used)
    assert _position(ib, goog.conId) == 6


@pytest.mark.parametrize("reset", [False, True], ids=["fin", "rst"])
def test_drop_closes_with_fin_or_reset(sim, raw, reset: bool) -> None:
    """At the socket level: FIN is an orderly end of stream, RST a reset connection."""
    client = raw(9)
    assert sim.call(sim.gw.faults.drop, reset=reset) == 1
    if reset:
        with pytest.raises(ConnectionResetError):
            client.sock.recv(1024)
    else:
        assert client.sock.recv(1024) == b""
    _poll(lambda: sim.call(lambda: sim.gw.status()["clients"]) == [], what="session gone")


def test_refuse_until_accept_then_state_is_kept(sim, connect: Connect, iblib) -> None:
    ib = _open_then_connect(sim, connect, client_id=1)
    goog = _goog(ib, iblib)
    _fill(ib, goog, iblib.MarketOrder("BUY", 7))

    assert sim.run(lambda: sim.gw.faults.refuse(None)) == 1
    _wait_disconnected(ib)
    assert sim.call(lambda: sim.gw.accepting) is False
    probe = iblib.IB()
    started = time.monotonic()
    with pytest.raises(OSError):
        probe.connect(HOST, sim.port, clientId=1, timeout=4)
    assert time.monotonic() - started < 2  # refused at once, not a timeout
    assert not probe.isConnected()
    with pytest.raises(OSError):  # still refusing: nothing reopens it by itself
        socket.create_connection((HOST, sim.port), timeout=2).close()

    sim.run(sim.gw.faults.accept)
    ib.connect(HOST, sim.port, clientId=1, timeout=4)
    assert ib.isConnected()
    assert _position(ib, goog.conId) == 7
    assert len(ib.fills()) == 1


def test_refuse_for_seconds_reopens_by_itself(sim, connect: Connect) -> None:
    ib = connect(client_id=1)
    sim.run(lambda: sim.gw.faults.refuse(0.3))
    _wait_disconnected(ib)
    _poll(lambda: sim.call(lambda: sim.gw.accepting), timeout=5, what="listening again")
    ib.connect(HOST, sim.port, clientId=1, timeout=4)
    assert ib.isConnected()


# ---- silence: stall, ignore -----------------------------------------------------------------


def test_stall_times_out_requests_but_keeps_the_socket(sim, connect: Connect, iblib) -> None:
    ib = connect()
    goog = _goog(ib, iblib)
    gone: list[bool] = []
    ib.disconnectedEvent += lambda: gone.append(True)

    sim.call(sim.gw.faults.stall)
    assert _daily(ib, goog, timeout=1) == []
    assert ib.isConnected() and not gone
    assert sim.call(lambda: sim.gw.status()["stalled"]) is True
    late = iblib.IB()  # a newcomer is accepted but never gets the handshake
    with pytest.raises(TimeoutError):
        late.connect(HOST, sim.port, clientId=2, timeout=0.5)
    assert not late.isConnected()

    sim.call(sim.gw.faults.unstall)
    sync(ib)
    assert ib.isConnected() and not gone
    assert len(_daily(ib, goog, timeout=4)) > 10


def test_ignored_message_times_out_until_heeded(sim, connect: Connect, iblib) -> None:
    ib = connect()
    goog = _goog(ib, iblib)
    sim.call(sim.gw.faults.ignore, 20)
    assert _daily(ib, goog, timeout=1) == []
    assert ib.isConnected()
    sync(ib)  # other messages are still answered
    assert ib.qualifyContracts(iblib.Stock("ORCL", "SMART", "USD"))[0].conId > 0

    sim.call(sim.gw.faults.heed, 20)
    assert len(_daily(ib, goog, timeout=4)) > 10


# ---- connectivity between "TWS" and IB: 1100 / 1101 / 1102 --------------------------------


def test_connectivity_lost_then_restored_keeps_bars(sim, connect: Connect, iblib) -> None:
    ib = _open_then_connect(sim, connect)
    bars = ib.reqRealTimeBars(_goog(ib, iblib), 5, "TRADES", False)
    seen = _error_codes(ib)
    advance(sim, ib, 15)
    wait_until(ib, lambda: len(bars) == 3)

    sim.call(sim.gw.faults.connectivity_lost)
    wait_until(ib, lambda: 1100 in _codes(seen))
    advance(sim, ib, 30)
    assert len(bars) == 3  # silence while connectivity is lost
    assert ib.isConnected()

    sim.call(sim.gw.faults.connectivity_restored)
    wait_until(ib, lambda: 1102 in _codes(seen))
    assert 1101 not in _codes(seen)
    advance(sim, ib, 15)
    wait_until(ib, lambda: len(bars) == 6)  # resumed without resubscribing
    times = [b.time.timestamp() for b in bars]
    assert times[3] - times[2] == 35  # the 30 s of outage are missing, not replayed


def test_connectivity_restored_with_data_lost_needs_resubscribe(
    sim, connect: Connect, iblib
) -> None:
    ib = _open_then_connect(sim, connect)
    goog = _goog(ib, iblib)
    bars = ib.reqRealTimeBars(goog, 5, "TRADES", False)
    seen = _error_codes(ib)
    advance(sim, ib, 10)
    wait_until(ib, lambda: len(bars) == 2)

    sim.call(sim.gw.faults.connectivity_lost)
    sim.call(lambda: sim.gw.faults.connectivity_restored(data_lost=True))
    wait_until(ib, lambda: 1101 in _codes(seen))
    assert 1102 not in _codes(seen)
    advance(sim, ib, 30)
    assert len(bars) == 2  # the subscription is gone
    assert ib.isConnected()

    ib.cancelRealTimeBars(bars)
    fresh = ib.reqRealTimeBars(goog, 5, "TRADES", False)
    advance(sim, ib, 15)
    wait_until(ib, lambda: len(fresh) == 3)


# ---- fill reports held back ---------------------------------------------------------------


def test_fills_during_connectivity_loss_arrive_in_a_burst(sim, connect: Connect, iblib) -> None:
    ib = _open_then_connect(sim, connect)
    goog = _goog(ib, iblib)
    seen = _error_codes(ib)
    sim.call(sim.gw.faults.connectivity_lost)
    wait_until(ib, lambda: 1100 in _codes(seen))

    trade = ib.placeOrder(goog, iblib.MarketOrder("BUY", 10))
    wait_until(ib, lambda: trade.orderStatus.status == "Submitted")
    advance(sim, ib, 10)
    assert trade.orderStatus.status == "Submitted"
    assert trade.fills == [] and ib.fills() == []
    assert sim.call(sim.gw.status)["withheld_reports"] > 0  # but the simulator has filled it

    released = sim.call(sim.gw.faults.connectivity_restored)
    assert released > 0
    wait_until(ib, lambda: trade.orderStatus.status == "Filled")
    assert [f.execution.shares for f in trade.fills] == [10]
    assert len(ib.fills()) == 1
    assert 1102 in _codes(seen)
    wait_until(ib, lambda: _position(ib, goog.conId) == 10)


def test_withhold_and_release_fills(sim, connect: Connect, iblib) -> None:
    ib = _open_then_connect(sim, connect)
    goog = _goog(ib, iblib)
    sim.call(sim.gw.faults.withhold_fills)
    first = ib.placeOrder(goog, iblib.MarketOrder("BUY", 3))
    second = ib.placeOrder(goog, iblib.MarketOrder("BUY", 4))
    wait_until(ib, lambda: second.orderStatus.status == "Submitted")
    sync(ib)
    assert first.fills == [] and second.fills == [] and ib.fills() == []
    assert first.orderStatus.status == second.orderStatus.status == "Submitted"

    assert sim.call(sim.gw.faults.release_fills) > 0
    wait_until(ib, lambda: second.orderStatus.status == "Filled")
    assert first.orderStatus.status == "Filled"
    assert sorted(f.execution.shares for f in ib.fills()) == [3, 4]
    wait_until(ib, lambda: _position(ib, goog.conId) == 7)
    after = _fill(ib, goog, iblib.MarketOrder("BUY", 1))  # reports flow normally again
    assert len(after.fills) == 1


@pytest.mark.parametrize("hold", ["lost", "withhold"])
def test_held_fill_does_not_leak_through_position_updates(
    sim, connect: Connect, iblib, hold: str
) -> None:
    """While fill reports wait, the position and portfolio a client sees must not move either.

    Otherwise a client sees a position it has no execution for (and reconciles wrongly).
    """
    ib = _open_then_connect(sim, connect)
    goog = _goog(ib, iblib)
    if hold == "lost":
        sim.call(sim.gw.faults.connectivity_lost)
    else:
        sim.call(sim.gw.faults.withhold_fills)
    trade = ib.placeOrder(goog, iblib.MarketOrder("BUY", 10))
    wait_until(ib, lambda: trade.orderStatus.status == "Submitted")
    sync(ib)
    assert sim.call(lambda: sim.gw.state.account.positions[goog.conId].quantity) == 10
    assert trade.fills == []
    assert _position(ib, goog.conId) == 0
    assert [p.position for p in ib.portfolio() if p.contract.conId == goog.conId] in ([], [0])

    if hold == "lost":
        sim.call(sim.gw.faults.connectivity_restored)
    else:
        sim.call(sim.gw.faults.release_fills)
    wait_until(ib, lambda: trade.orderStatus.status == "Filled")
    wait_until(ib, lambda: _position(ib, goog.conId) == 10)
    wait_until(ib, lambda: [p.position for p in ib.portfolio()] == [10])


# ---- notices, rejections, pacing --------------------------------------------------------------


def test_farm_notices_reach_the_error_event(sim, connect: Connect) -> None:
    ib = connect()
    sync(ib)
    seen = _error_codes(ib)
    for code in (2103, 2104, 2105, 2106):
        sim.call(sim.gw.faults.farm_notice, code)
    wait_until(ib, lambda: len(seen) == 4)
    assert seen == [(-1, 2103), (-1, 2104), (-1, 2105), (-1, 2106)]
    assert ib.isConnected()
    with pytest.raises(ValueError, match="unknown"):
        sim.call(sim.gw.faults.farm_notice, 1234)


def test_reject_next_order(sim, connect: Connect, iblib) -> None:
    ib = _open_then_connect(sim, connect)
    goog = _goog(ib, iblib)
    seen = _error_codes(ib)
    sim.call(sim.gw.faults.reject_next, 201)

    rejected = ib.placeOrder(goog, iblib.MarketOrder("BUY", 10))
    wait_until(ib, lambda: rejected.orderStatus.status == "Cancelled")
    assert (rejected.order.orderId, 201) in seen
    assert any(entry.errorCode == 201 for entry in rejected.log)
    assert rejected.fills == []

    accepted = _fill(ib, goog, iblib.MarketOrder("BUY", 10))
    assert len(accepted.fills) == 1
    assert _position(ib, goog.conId) == 10
    assert _codes(seen) == [201]


def test_forced_pacing_violation(sim, connect: Connect, iblib) -> None:
    ib = connect()
    goog = _goog(ib, iblib)
    seen = _error_codes(ib)
    sim.call(sim.gw.faults.pacing_violations, 1)
    assert _daily(ib, goog) == []
    assert 162 in _codes(seen)
    assert len(_daily(ib, goog)) > 10  # only the next one
    assert _codes(seen) == [162]


def test_pacing_rule_identical_request_within_15_seconds(iblib) -> None:
    with BackgroundGateway(sim_config(pacing=True, symbols=FAST_SYMBOLS)) as sim:
        ib = iblib.IB()
        ib.connect(HOST, sim.port, clientId=1, timeout=4)
        try:
            goog = _goog(ib, iblib)
            seen = _error_codes(ib)
            assert len(_daily(ib, goog)) > 10
            assert _daily(ib, goog) == []
            assert _codes(seen) == [162]
            assert len(_daily(ib, goog, duration="2 M")) > 30  # a different request is fine
        finally:
            ib.disconnect()


# ---- odd fill reports ----------------------------------------------------------------------


def test_partial_fills(sim, connect: Connect, iblib) -> None:
    ib = _open_then_connect(sim, connect)
    goog = _goog(ib, iblib)
    sim.call(sim.gw.faults.partial_fills, 4)
    trade = ib.placeOrder(goog, iblib.MarketOrder("BUY", 100))
    wait_until(ib, lambda: len(trade.fills) == 1)
    assert trade.orderStatus.status == "Submitted"
    assert trade.orderStatus.filled == 25 and trade.orderStatus.remaining == 75
    for _ in range(3):
        advance(sim, ib, 5)
    wait_until(ib, lambda: trade.orderStatus.status == "Filled")
    shares = [f.execution.shares for f in trade.fills]
    cum = [f.execution.cumQty for f in trade.fills]
    assert shares == [25, 25, 25, 25]
    assert cum == [25, 50, 75, 100]
    assert len({f.execution.execId for f in trade.fills}) == 4
    times = [f.execution.time for f in trade.fills]
    assert times == sorted(times) and times[0] < times[-1]
    wait_until(ib, lambda: _position(ib, goog.conId) == 100)
    assert trade.orderStatus.filled == 100
    # the next order is whole again
    whole = _fill(ib, goog, iblib.MarketOrder("BUY", 10))
    assert [f.execution.shares for f in whole.fills] == [10]


def test_slip_fills_market_orders_ticks_worse_until_zero(sim, connect: Connect, iblib) -> None:
    ib = _open_then_connect(sim, connect)
    goog = _goog(ib, iblib)
    touch = _fill(ib, goog, iblib.MarketOrder("BUY", 10)).fills[0].execution.price
    sim.call(sim.gw.faults.slip, 3)
    bought = _fill(ib, goog, iblib.MarketOrder("BUY", 10)).fills[0].execution.price
    sold = _fill(ib, goog, iblib.MarketOrder("SELL", 10)).fills[0].execution.price
    assert bought == pytest.approx(touch + 0.03)  # the ask (last + tick) plus three ticks
    assert sold == pytest.approx(touch - 0.02 - 0.03)  # the bid (last - tick) less three
    sim.call(sim.gw.faults.slip, 0)
    assert _fill(ib, goog, iblib.MarketOrder("SELL", 10)).fills[0].execution.price == (
        pytest.approx(touch - 0.02)
    )


def test_duplicate_exec_details(sim, connect: Connect, iblib) -> None:
    ib = _open_then_connect(sim, connect)
    goog = _goog(ib, iblib)
    wire: list[str] = []
    original = ib.wrapper.execDetails

    def recording(req_id: int, contract: Any, execution: Any) -> None:
        wire.append(execution.execId)
        original(req_id, contract, execution)

    ib.wrapper.execDetails = recording
    events: list[str] = []
    ib.execDetailsEvent += lambda trade, fill: events.append(fill.execution.execId)
    sim.call(sim.gw.faults.duplicate_exec_details, 1)

    trade = _fill(ib, goog, iblib.MarketOrder("BUY", 10))
    sync(ib)
    exec_id = trade.fills[0].execution.execId
    assert wire == [exec_id, exec_id]  # delivered twice on the wire
    assert events == [exec_id]  # both libraries deduplicate by execId
    assert len(trade.fills) == 1 and len(ib.fills()) == 1
    wait_until(ib, lambda: _position(ib, goog.conId) == 10)
    second = _fill(ib, goog, iblib.MarketOrder("BUY", 5))  # only the next one
    sync(ib)
    assert wire.count(second.fills[0].execution.execId) == 1
    assert _position(ib, goog.conId) == 15


# ---- bad input from raw sockets -------------------------------------------------------------


class RawClient:
    """A hand-driven TWS API client on a plain socket."""

    def __init__(self, port: int, client_id: int) -> None:
        self.sock = socket.create_connection((HOST, port), timeout=5)
        self.reader = FrameReader(expect_hello=False)
        self.inbox: list[list[str]] = []
        payload = b"v157..176"
        self.sock.sendall(b"API\0" + struct.pack(">I", len(payload)) + payload)
        version, _stamp = self.next_message()
        assert version == "176"
        self.send([71, 2, client_id, ""])
        self.until(lambda m: m[0] == "9")  # nextValidId: the session is started
        self.current_time()  # and past the farm notices that follow it

    def send(self, fields: list[Any]) -> None:
        self.sock.sendall(encode(fields))

    def send_raw_payload(self, payload: bytes) -> None:
        self.sock.sendall(struct.pack(">I", len(payload)) + payload)

    def next_message(self) -> list[str]:
        while not self.inbox:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("gateway closed the connection")
            self.inbox.extend(self.reader.feed(data))
        return self.inbox.pop(0)

    def until(self, match: Callable[[list[str]], bool]) -> tuple[list[str], list[list[str]]]:
        """Read until a message matches; returns it and everything read before it."""
        before: list[list[str]] = []
        while not match(message := self.next_message()):
            before.append(message)
        return message, before

    def current_time(self) -> list[list[str]]:
        """Round trip; returns what arrived before the answer."""
        self.send([49, 1])
        _, before = self.until(lambda m: m[0] == "49")
        return before

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def raw(sim) -> Iterator[Callable[[int], RawClient]]:
    clients: list[RawClient] = []

    def make(client_id: int) -> RawClient:
        client = RawClient(sim.port, client_id)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


BAD_MESSAGES = [  # payload, problem, the id the error comes on (the request's own if readable)
    (b"abc\0", "message id 'abc' is not a number", "-1"),
    (b"999\x001\0", "unknown message id 999", "-1"),
    (b"1\x0011\x007\0", "reqMktData has 3 fields, expected 19", "7"),
    (b"\xff\xfe\x001\0", "is not a number", "-1"),  # not UTF-8
    (b"9\x008\x001\x00\xff\xfe\0", "reqContractDetails has 4 fields", "1"),  # not UTF-8
    (b"", "empty message", "-1"),
]


def test_bad_messages_get_320_and_the_connection_lives(sim, raw, connect: Connect, iblib) -> None:
    ib = connect(client_id=1)
    bad = raw(9)
    for payload, problem, req_id in BAD_MESSAGES:
        bad.send_raw_payload(payload)
        before = bad.current_time()  # still answered after the bad message
        assert [m[:4] for m in before] == [["4", "2", req_id, "320"]], payload
        assert before[0][4].startswith("Error reading request: "), payload
        assert problem in before[0][4], payload
    assert ib.isConnected()
    assert _goog(ib, iblib).conId > 0  # the gateway kept serving everyone
    assert 9 in sim.call(lambda: sim.gw.status()["clients"])
    assert bad.current_time() == []


def test_half_frame_then_vanish_leaves_others_alone(sim, raw, connect: Connect, iblib) -> None:
    ib = connect(client_id=1)
    gone = raw(9)
    gone.sock.sendall(struct.pack(">I", 100) + b"49\x001\0")  # 6 of 100 bytes
    gone.close()
    _poll(lambda: 9 not in sim.call(lambda: sim.gw.status()["clients"]), what="client 9 gone")
    assert ib.isConnected()
    sync(ib)
    assert _goog(ib, iblib).conId > 0
    other = raw(9)  # the clientId is free again
    assert other.current_time() == []


def test_connection_without_api_prefix_is_closed(sim, connect: Connect) -> None:
    ib = connect(client_id=1)
    with socket.create_connection((HOST, sim.port), timeout=5) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(1024) == b""  # closed without a word
    assert ib.isConnected()
    sync(ib)


# ---- the admin channel through the CLI --------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_admin_channel_via_cli(tmp_path: Path, spawn_cli: SpawnCli, run_cli: RunCli) -> None:
    port = _free_port()
    admin = tmp_path / "a.sock"
    proc = spawn_cli(
        "simgw", "--port", str(port), "--admin-socket", str(admin),
        "--data-dir", str(SAMPLE_DATA), "--speed", "0", "--symbols", "GOOG",
    )  # fmt: skip
    try:
        _poll(lambda: admin.exists() or proc.poll() is not None, timeout=30, what="admin socket")
        assert proc.poll() is None, proc.communicate()[1]
        assert admin.stat().st_mode & 0o777 == 0o600

        status = run_cli("simgw", "status", "--admin-socket", str(admin), timeout=60)
        assert status.code == 0, status.stderr
        info = json.loads(status.stdout)
        assert info["port"] == port and info["accepting"] is True and info["symbols"] == ["GOOG"]

        ib = ib_async.IB()
        ib.connect(HOST, port, clientId=5, timeout=4)
        try:
            seen = _error_codes(ib)
            farm = run_cli("simgw", "fault", "farm", "2103", "--admin-socket", str(admin))
            assert farm.code == 0, farm.stderr
            wait_until(ib, lambda: 2103 in _codes(seen))
            status = run_cli("simgw", "status", "--admin-socket", str(admin))
            assert json.loads(status.stdout)["clients"] == [5]
        finally:
            ib.disconnect()

        unknown = run_cli("simgw", "fault", "nosuch", "--admin-socket", str(admin))
        assert unknown.code == 2
        assert "nosuch" in unknown.stderr
        refused = run_cli("simgw", "fault", "farm", "9999", "--admin-socket", str(admin))
        assert refused.code == 2  # the simulator itself says no
        assert "9999" in refused.stderr
        status = run_cli("simgw", "status", "--admin-socket", str(admin))
        assert status.code == 0 and json.loads(status.stdout)["port"] == port
        assert proc.poll() is None  # bad requests do not disturb the simulator
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
    _, stderr = proc.communicate(timeout=20)
    assert proc.returncode == 0, stderr
    assert not admin.exists()


# ---- state across a process restart -----------------------------------------------------------


def test_state_file_survives_a_gateway_restart(tmp_path: Path, iblib) -> None:
    state = tmp_path / "s.json"
    with BackgroundGateway(sim_config(state_file=state)) as sim:
        _open(sim)
        ib = iblib.IB()
        ib.connect(HOST, sim.port, clientId=2, timeout=4)
        try:
            goog = _goog(ib, iblib)
            filled = _fill(ib, goog, iblib.MarketOrder("BUY", 12))
            resting = ib.placeOrder(goog, iblib.LimitOrder("BUY", 5, 100.0))
            wait_until(ib, lambda: resting.orderStatus.status == "Submitted")
            exec_id = filled.fills[0].execution.execId
            used = max(filled.order.orderId, resting.order.orderId)
            sim_time = sim.gw.sim_time
        finally:
            ib.disconnect()
    assert state.exists()

    # A process restart: same state file, no --start, so the saved clock is kept.
    with BackgroundGateway(sim_config(state_file=state, start=None)) as sim:
        assert sim.gw.sim_time == sim_time
        ib = iblib.IB()
        next_ids = _record_next_valid_ids(ib)
        ib.connect(HOST, sim.port, clientId=2, timeout=4)
        try:
            assert next_ids and next_ids[0] > used
            assert _position(ib, goog.conId) == 12
            assert [f.execution.execId for f in ib.fills()] == [exec_id]
            assert [f.execution.execId for f in ib.reqExecutions()] == [exec_id]
            open_trades = ib.openTrades()
            assert [t.order.orderId for t in open_trades] == [resting.order.orderId]
            assert open_trades[0].order.lmtPrice == 100.0
            advance(sim, ib, 10)  # the same trading day goes on: nothing is forgotten
            assert len(ib.reqExecutions()) == 1
            more = _fill(ib, goog, iblib.MarketOrder("SELL", 2))
            assert more.order.orderId > used
            assert _position(ib, goog.conId) == 10
        finally:
            ib.disconnect()


def test_restart_with_the_same_start_date_keeps_the_days_executions(tmp_path: Path) -> None:
    """Restarting with the same command line (same --start and --state) must not lose today.

    The day's executions are what a reconnecting client reconciles against.
    """
    state = tmp_path / "s.json"
    config = sim_config(state_file=state)
    with BackgroundGateway(config) as sim:
        _open(sim)
        ib = ib_async.IB()
        ib.connect(HOST, sim.port, clientId=2, timeout=4)
        try:
            goog = _goog(ib, ib_async)
            exec_id = _fill(ib, goog, ib_async.MarketOrder("BUY", 12)).fills[0].execution.execId
        finally:
            ib.disconnect()

    with BackgroundGateway(config) as sim:
        ib = ib_async.IB()
        ib.connect(HOST, sim.port, clientId=2, timeout=4)
        try:
            advance(sim, ib, 10)
            assert [f.execution.execId for f in ib.reqExecutions()] == [exec_id]
            assert _position(ib, goog.conId) == 12
        finally:
            ib.disconnect()


def test_years_of_minute_bars_are_refused_at_once_not_built(iblib) -> None:
    """A request for more than MAX_BARS bars is refused before a bucket is expanded: built
    first, eight years of 5-minute bars took the simulator minutes and gigabytes (a worker
    whose clock ran at the wall's 2026 asked for them in the rehearsal)."""
    from datetime import date

    with BackgroundGateway(sim_config(symbols=("GOOG",), start=date(2012, 6, 1))) as sim:
        ib = iblib.IB()
        ib.connect(HOST, sim.port, clientId=1, timeout=4)
        try:
            goog = _goog(ib, iblib)
            seen = _error_codes(ib)
            began = time.monotonic()
            bars = ib.reqHistoricalData(goog, "", "10 Y", "5 mins", "TRADES", True, timeout=20)
            assert list(bars) == [] and _codes(seen) == [162]
            assert time.monotonic() - began < 5
            assert len(ib.reqHistoricalData(goog, "", "5 D", "5 mins", "TRADES", True)) == 390
        finally:
            ib.disconnect()
