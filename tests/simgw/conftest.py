"""Fixtures: a simulator on a background thread and connected clients of both libraries.

The simulator runs paused (speed 0): tests move simulated time with ``advance``,
which publishes every bucket before returning, so timelines are exact.
``sync`` is a round trip through the gateway (reqCurrentTime): once it returns,
everything the gateway sent before has been processed by the client.
"""

from __future__ import annotations

import asyncio
import importlib
import time
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest

from tests.fixtures import simulator as shared
from tests.fixtures.simulator import GOOG_OPEN
from tradd.simgw.background import BackgroundGateway
from tradd.simgw.config import SimConfig

__all__ = ["GOOG_OPEN", "advance", "open_market", "sim_config", "sync", "wait_until"]
LIBRARIES = ("ib_async", "ib_insync")


def sim_config(**overrides: Any) -> SimConfig:
    """The shared simulator set-up, with the intraday IDXFUT in place of NVDA."""
    return shared.sim_config(**{"symbols": ("GOOG", "ORCL", "IDXFUT"), **overrides})


@pytest.fixture
def sim() -> Iterator[BackgroundGateway]:
    with BackgroundGateway(sim_config()) as gateway:
        yield gateway


@pytest.fixture(params=LIBRARIES)
def iblib(request: pytest.FixtureRequest) -> ModuleType:
    return importlib.import_module(request.param)


Connect = Callable[..., Any]


@pytest.fixture
def connect(sim: BackgroundGateway, iblib: ModuleType) -> Iterator[Connect]:
    """Connect clients to ``sim``; all are disconnected at the end. The clients run on a
    fresh event loop of their own: an earlier test's `asyncio.run` leaves the main thread
    without an implicit one, which the libraries' blocking API would otherwise need."""
    clients: list[Any] = []
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    def _connect(client_id: int = 1, **kwargs: Any) -> Any:
        ib = iblib.IB()
        ib.connect("127.0.0.1", sim.port, clientId=client_id, timeout=4, **kwargs)
        clients.append(ib)
        return ib

    yield _connect
    for ib in clients:
        ib.disconnect()
    asyncio.set_event_loop(None)
    loop.close()


def sync(ib: Any) -> None:
    """Round trip: the gateway has handled all earlier requests, we all earlier replies."""
    ib.reqCurrentTime()


def advance(sim: BackgroundGateway, ib: Any, seconds: float) -> None:
    sync(ib)
    sim.call(sim.gw.advance, seconds)
    sync(ib)


def open_market(sim: BackgroundGateway, ib: Any, minutes: int = 5) -> None:
    """Move into GOOG's session so there are quotes to trade against."""
    gap = GOOG_OPEN + minutes * 60 - sim.gw.sim_time
    advance(sim, ib, max(gap, 0))


def wait_until(ib: Any, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Process client events until ``predicate`` holds; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not predicate():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError("condition not reached within timeout")
        ib.waitOnUpdate(timeout=min(remaining, 0.5))
