"""A worker that trades all day must not grow with every order: what Backtrader, the
client library and the order manager keep of finished orders stays bounded."""

from __future__ import annotations

import threading

import tradd.worker.app as worker_app
from tests.fixtures.simulator import strategy_entry, worker_settings
from tradd.ib.orders import OrderIntent

from .conftest import assert_ledger_matches_simulator

KEEP = 10


def test_finished_order_history_is_bounded(
    tmp_path, simulator, sqlite_url, start_worker, ledger_for, monkeypatch
) -> None:
    monkeypatch.setattr(worker_app, "KEEP_DONE", KEEP)
    entry = strategy_entry(strategy="tests.worker.strategies.EveryBar", bar="5s", warmup_bars=20)
    settings = worker_settings(tmp_path, simulator.port, sqlite_url, [entry],
                               worker={"snapshot_interval": 0.05})  # fmt: skip
    live = start_worker(settings, simulator).ready()
    live.advance(5)  # the first live bar, so Backtrader has a bar to value orders at
    resting = OrderIntent("GOOG", "BUY", 1, "LMT", 1.0, None, "GTC", 1.0)  # never fills
    (resting_ref,) = live.engine.manager.submit([resting]).refs  # the loop is idle: safe
    pace = threading.Event()
    for _ in range(60):  # 60 bars, 60 orders; paced under the client's 45 requests/s
        simulator.call(simulator.gw.advance, 5)
        live.clock.catch_up()
        pace.wait(0.04)
    live.settle()
    live.wait_until(lambda: len(ledger_for().fills()) == 61, 60, "every order filled")
    strategy = live.worker.cerebro.runningstrats[0]

    def trades() -> int:
        return sum(len(ts) for by_id in strategy._trades.values() for ts in by_id.values())

    def trimmed() -> bool:
        return trades() <= KEEP + 1 and len(strategy._orders) <= KEEP  # the open trade stays

    live.wait_until(trimmed, 10, "a housekeeping round after the last fill")
    wrapper = live.worker.link.client._ib.wrapper
    assert len(wrapper.trades) <= KEEP + 2 and len(wrapper.fills) <= KEEP + 2
    manager = live.engine.manager
    assert max(len(manager.ib_ids), len(manager.fills._known), len(manager._reports)) <= KEEP + 1
    # The order still working was kept everywhere, however old it is.
    assert resting_ref in manager.ib_ids.values() and resting_ref in manager.working.working()
    assert any(t.order.orderRef == resting_ref for t in wrapper.trades.values())
    assert_ledger_matches_simulator(simulator, ledger_for())  # the ledger keeps everything
