"""ConnectionManager with a scripted client, an injected clock and sleep: backoff, the
circuit breaker, IB's system codes (1100/1101/1102/1300, farm notices) and the probe."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime

import pytest

from tradd.config.live import BrokerSettings
from tradd.errors import TemporaryError
from tradd.ib.connection import ConnectionManager
from tradd.ib.events import LinkState
from tradd.ib.types import Notice


class FakeClient:
    def __init__(self, fails: int = 0, probe_fails: bool = False) -> None:
        self.fails, self.probe_fails = fails, probe_fails
        self.connects = self.disconnects = self.resubscribes = 0

    async def connect(self, host, port, client_id, timeout, account=""):
        self.connects += 1
        if self.fails:
            self.fails -= 1
            raise TemporaryError(f"refused #{self.connects}")
        return ["DU1"]

    async def disconnect(self) -> None:
        self.disconnects += 1

    async def resubscribe(self) -> list[str]:
        self.resubscribes += 1
        return ["GOOG"]

    async def server_time(self) -> datetime:
        if self.probe_fails:
            raise TimeoutError("no answer")
        return datetime(2006, 1, 10, tzinfo=UTC)


class Recorder:
    def __init__(self) -> None:
        self.states: list[LinkState] = []
        self.reasons: list[str] = []
        self.ready: list[str] = []
        self.farms: list[tuple[int, bool]] = []

    def link_changed(self, state: LinkState, reason: str) -> None:
        self.reasons.append(reason)
        if not self.states or self.states[-1] is not state:
            self.states.append(state)

    def link_ready(self, why: str) -> None:
        self.ready.append(why)

    def farm_notice(self, notice: Notice, healthy: bool) -> None:
        self.farms.append((notice.code, healthy))


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds
        await asyncio.sleep(0)


def manager(client: FakeClient, **broker) -> tuple[ConnectionManager, Recorder, Clock]:
    settings = BrokerSettings(**{"reconnect": {"initial": 1.0, "maximum": 8.0, "jitter": 0.0},
                                 "circuit": {"failure_threshold": 3, "open_seconds": 30.0},
                                 "probe_interval": 10.0, **broker})  # fmt: skip
    recorder, clock = Recorder(), Clock()

    async def on_connect() -> None:
        return None

    m = ConnectionManager(client, settings, 7, recorder, on_connect=on_connect, clock=clock,
                          sleep=clock.sleep, rng=random.Random(1))  # fmt: skip
    return m, recorder, clock


async def until(predicate, turns: int = 10_000) -> None:
    for _ in range(turns):
        if predicate():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition not reached")


async def finish(m: ConnectionManager, task: asyncio.Task[None]) -> None:
    await m.stop()
    await asyncio.wait_for(task, 5)


def test_failed_connects_back_off_exponentially_then_connect() -> None:
    async def go() -> None:
        client = FakeClient(fails=2)
        m, rec, clock = manager(client)
        task = asyncio.create_task(m.run())
        await until(lambda: rec.ready)
        assert client.connects == 3 and clock.sleeps[:2] == [1.0, 2.0]
        assert rec.ready == ["connected"] and m.state is LinkState.CONNECTED and m.usable
        assert m.breaker.failures == 0
        await finish(m, task)
        assert rec.states[-1] is LinkState.STOPPED

    asyncio.run(go())


def test_circuit_opens_after_the_threshold_and_probes_after_the_open_period() -> None:
    async def go() -> None:
        client = FakeClient(fails=4)  # 3 open it, the half-open probe fails, then success
        m, rec, clock = manager(client)
        task = asyncio.create_task(m.run())
        await until(lambda: rec.ready)
        # Backoff after each failure; once open, the half-open probe comes exactly
        # open_seconds after the failure that opened it (4 + 26, then 8 + 22).
        assert clock.sleeps == [1.0, 2.0, 4.0, 26.0, 8.0, 22.0]
        assert LinkState.CIRCUIT_OPEN in rec.states
        assert client.connects == 5 and m.circuit == "closed"
        await finish(m, task)

    asyncio.run(go())


@pytest.mark.parametrize(("code", "why", "resubscribed"), [(1102, "restored", 0),
                                                          (1101, "data_lost", 1)])  # fmt: skip
def test_1100_then_restored(code: int, why: str, resubscribed: int) -> None:
    async def go() -> None:
        client = FakeClient()
        m, rec, _ = manager(client)
        task = asyncio.create_task(m.run())
        await until(lambda: rec.ready)
        m.on_notice(Notice(-1, 1100, "Connectivity between IB and TWS has been lost."))
        assert m.state is LinkState.CONNECTIVITY_LOST and not m.usable
        m.on_notice(Notice(-1, code, "restored"))
        await until(lambda: len(rec.ready) == 2)
        assert rec.ready == ["connected", why] and m.usable
        assert client.resubscribes == resubscribed and client.connects == 1  # same socket
        await finish(m, task)

    asyncio.run(go())


def test_1300_and_a_closed_socket_reconnect() -> None:
    async def go() -> None:
        client = FakeClient()
        m, rec, _ = manager(client)
        task = asyncio.create_task(m.run())
        await until(lambda: rec.ready)
        m.on_notice(Notice(-1, 1300, "TWS socket port has been reset"))
        await until(lambda: len(rec.ready) == 2)
        m.on_disconnected()
        await until(lambda: len(rec.ready) == 3)
        assert client.connects == 3 and rec.ready == ["connected"] * 3
        assert LinkState.DISCONNECTED in rec.states
        await finish(m, task)

    asyncio.run(go())


def test_farm_notices_are_watched_not_acted_on() -> None:
    async def go() -> None:
        client = FakeClient()
        m, rec, _ = manager(client)
        task = asyncio.create_task(m.run())
        await until(lambda: rec.ready)
        m.on_notice(Notice(-1, 2103, "Market data farm connection is broken:usfarm"))
        m.on_notice(Notice(-1, 2105, "HMDS data farm connection is broken:ushmds"))
        assert m.broken_farms == {"usfarm", "ushmds"} and m.usable
        m.on_notice(Notice(-1, 2104, "Market data farm connection is OK:usfarm"))
        assert m.broken_farms == {"ushmds"}
        assert rec.farms == [(2103, False), (2105, False), (2104, True)]
        assert client.connects == 1
        await finish(m, task)

    asyncio.run(go())


def test_an_unanswered_probe_means_a_stalled_gateway() -> None:
    async def go() -> None:
        client = FakeClient(probe_fails=True)
        m, rec, _ = manager(client)
        task = asyncio.create_task(m.run())
        await until(lambda: client.connects >= 2)
        assert any("did not answer a probe within 5s" in r for r in rec.reasons)
        assert client.disconnects >= 1 and rec.ready[:2] == ["connected", "connected"]
        await finish(m, task)

    asyncio.run(go())
