"""A worker that trades all day must not grow with every order: what Backtrader, the
client library and the order manager keep of finished orders stays bounded."""

from __future__ import annotations

import threading

import tradd.worker.app as worker_app
from tests.fixtures.simulator import strategy_entry, worker_settings

from .conftest import assert_ledger_matches_simulator

KEEP = 20


def test_finished_order_history_is_bounded(
    tmp_path, simulator, sqlite_url, start_worker, ledger_for, monkeypatch
) -> None:
    monkeypatch.setattr(worker_app, "KEEP_DONE", KEEP)
    entry = strategy_entry(strategy="tests.worker.strategies.EveryBar", bar="5s", warmup_bars=20)
    settings = worker_settings(tmp_path, simulator.port, sqlite_url, [entry],
                               worker={"snapshot_interval": 0.05})  # fmt: skip
    live = start_worker(settings, simulator).ready()
    pace = threading.Event()
    for _ in range(100):  # 100 bars, 100 orders; paced under the client's 45 requests/s
        simulator.call(simulator.gw.advance, 5)
        live.clock.catch_up()
        pace.wait(0.03)
    live.settle()
    live.wait_until(lambda: len(ledger_for().fills()) == 100, 20, "every order filled")
    strategy = live.worker.cerebro.runningstrats[0]

    def trades() -> int:
        return sum(len(ts) for by_id in strategy._trades.values() for ts in by_id.values())

    live.wait_until(lambda: trades() <= KEEP + 1, 10, "a housekeeping round after the last bar")
    assert len(strategy._orders) <= KEEP
    wrapper = live.worker.link.client._ib.wrapper
    assert len(wrapper.trades) <= KEEP + 2 and len(wrapper.fills) <= KEEP + 2
    manager = live.engine.manager
    assert max(len(manager.ib_ids), len(manager._booked), len(manager._reports)) <= KEEP
    assert_ledger_matches_simulator(simulator, ledger_for())  # the ledger keeps everything
