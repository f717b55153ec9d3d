"""A live strategy's Backtrader lines stay bounded (issue 15: workers grew with every bar).

Backtrader keeps every value of every line for the whole run; the worker's housekeeping
cuts them to the newest values. Counted, not timed: after hundreds of bars every line
(feed, indicators) holds at most twice what it keeps, bar counts are untouched, and the
indicators still compute from the right values."""

from __future__ import annotations

import math
import threading

import pytest

import tradd.worker.lines as worker_lines
from tests.fixtures.simulator import strategy_entry, worker_settings
from tradd.worker.lines import KEEP_LINES

KEEP = 40
BARS = 400


def buffers(strategy) -> dict[str, int]:
    """Values each line holds now, by owner and line name."""
    held = {}
    owners = [("strategy", strategy), *((d._name, d) for d in strategy.datas)]
    owners += [(type(i).__name__ + str(n), i) for n, i in enumerate(strategy.getindicators())]
    for name, owner in owners:
        for index, line in enumerate(owner.lines):
            held[f"{name}.{owner.lines._getlinealias(index)}"] = line.idx + 1
    return held


def test_lines_are_cut_to_the_newest_values_and_indicators_stay_right(
    tmp_path, simulator, sqlite_url, start_worker, monkeypatch
) -> None:
    monkeypatch.setattr(worker_lines, "KEEP_LINES", KEEP)
    monkeypatch.setattr("tradd.worker.app.KEEP_LINES", KEEP)
    entry = strategy_entry(strategy="strategies.sma_cross.SmaCross", bar="5s", warmup_bars=10,
                           params={"fast": 3, "slow": 8})  # fmt: skip
    settings = worker_settings(tmp_path, simulator.port, sqlite_url, [entry],
                               worker={"snapshot_interval": 0.05})  # fmt: skip
    live = start_worker(settings, simulator).ready()
    pace = threading.Event()
    for _ in range(BARS // 20):
        simulator.call(simulator.gw.advance, 100)  # 20 five-second bars
        live.clock.catch_up()
        live.settle()
        pace.wait(0.06)  # a housekeeping round (every 50 ms) between steps
    strategy = live.worker.cerebro.runningstrats[0]
    data = strategy.datas[0]
    assert len(data) >= BARS  # every bar counted
    held = buffers(strategy)
    assert held and max(held.values()) <= 2 * KEEP + 20, held  # not one value per bar
    _, fast, slow = strategy.averages[0]
    assert slow[0] == pytest.approx(math.fsum(data.close.get(size=8)) / 8)
    assert fast[0] == pytest.approx(math.fsum(data.close.get(size=3)) / 3)
    assert KEEP_LINES >= 1000  # the real floor: long lookbacks keep working
