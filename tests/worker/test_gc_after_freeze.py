"""Garbage does not pile up in a worker whose heap was frozen after warm-up (issue 15:
workers grew after warm-up with no live object growing).

After `gc.freeze()` Python's full collection waits until the objects promoted since
outnumber a quarter of the whole (now frozen) warm-up heap; every finished order in the
client library is a reference cycle, promoted before it is dropped, so finished orders
piled up, uncollected, for weeks. Counted: after 60 orders, no more of the library's
order objects are alive than the worker keeps."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

import tradd.worker.app as worker_app
from tests.fixtures.simulator import Live, MarketClock, strategy_entry, worker_settings
from tradd.worker.app import Worker, WorkerOptions

KEEP = 10
ORDERS = 60


@pytest.fixture
def unfreeze() -> Iterator[None]:
    yield
    gc.unfreeze()  # the worker froze this test process's heap


def alive_trades() -> int:
    return sum(1 for o in gc.get_objects() if type(o).__name__ == "Trade"
               and type(o).__module__.startswith("ib_async"))  # fmt: skip


def test_finished_orders_are_collected_after_the_freeze(
    tmp_path, simulator, sqlite_url, ledger_for, monkeypatch, unfreeze
) -> None:
    monkeypatch.setattr(worker_app, "KEEP_DONE", KEEP)
    entry = strategy_entry(strategy="tests.worker.strategies.EveryBar", bar="5s", warmup_bars=20)
    settings = worker_settings(tmp_path, simulator.port, sqlite_url, [entry],
                               worker={"snapshot_interval": 0.05})  # fmt: skip
    clock = MarketClock(simulator)
    options = WorkerOptions(market_now=clock, install_signals=False, freeze_gc=True)
    live = Live(Worker(settings, "s1", options), simulator, clock)
    live.worker.on_pump = live.notify
    live.start()
    try:
        live.ready()
        assert gc.get_freeze_count() > 0  # warmed up: the heap is frozen
        pace = threading.Event()
        for _ in range(ORDERS):  # one order a bar, paced under the client's 45 requests/s
            simulator.call(simulator.gw.advance, 5)
            live.clock.catch_up()
            pace.wait(0.04)
        live.settle()
        wrapper = live.worker.link.client._ib.wrapper
        live.wait_until(lambda: len(ledger_for().fills()) >= ORDERS, 60, "every order filled")
        live.wait_until(lambda: len(wrapper.fills) <= KEEP + 2, 10, "finished orders trimmed")
        live.wait_until(lambda: alive_trades() <= 2 * KEEP + 4, 10, "finished orders collected")
    finally:
        live.stop()
