"""TWS's newest bar in a request ending now is still in progress (simgw serves it so):
the worker's warm-up and gap fill must seed their aggregator with it, never queue it as a
finished bar for the strategy. History comes from the simulator through tradd's client."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.fixtures.simulator import GOOG_OPEN, worker_settings
from tests.ib.test_units_store import Rig
from tradd.ib.link import IBLink
from tradd.ib.types import Bar
from tradd.simgw.background import BackgroundGateway

NOW = GOOG_OPEN + 30 * 60 + 40  # 10:00:40 New York: the 10:00 minute is 40 s old


@pytest.fixture
def link(tmp_path: Path, simulator: BackgroundGateway) -> Iterator[IBLink]:
    simulator.call(simulator.gw.advance, NOW - simulator.gw.sim_time)
    settings = worker_settings(tmp_path, simulator.port, "sqlite://", [])
    ib = IBLink(settings.broker, 41, symbols=())
    ib.start()
    try:
        assert ib.wait_connected(10)
        ib.qualify(["GOOG"])
        yield ib
    finally:
        ib.stop()


def _history(link: IBLink):
    def fetch(symbol: str, duration: str, size: str) -> list[Bar]:
        got = link.history(symbol, duration, size)
        assert got.errors == ()
        return list(got.bars)

    return fetch


def _minute(t: int) -> datetime:
    return datetime.fromtimestamp(t, UTC)


def test_warm_up_seeds_the_bar_in_progress_and_queues_only_finished_ones(link) -> None:
    rig = Rig(symbols=("GOOG",))
    rig.market = _minute(NOW)
    fetched = _history(link)("GOOG", "1 D", "1 min")
    assert fetched[-1].start == _minute(NOW - 40)  # the gateway did send the bar in progress
    rig.store.backfill(_history(link), 5)
    released = rig.released("GOOG")
    assert [start for start, _ in released] == [_minute(NOW - 40 - 60 * k) for k in range(5, 0, -1)]
    seeded = rig.feeds["GOOG"].aggregator._bar
    assert seeded is not None and seeded.start == _minute(NOW - 40)
    assert seeded.volume == fetched[-1].volume  # 40 s of trades, to be completed live


def test_gap_fill_queues_only_finished_bars(link) -> None:
    rig = Rig(symbols=("GOOG",))
    feed = rig.feeds["GOOG"]
    feed.last_bar = Bar("GOOG", _minute(GOOG_OPEN + 10 * 60), 60, 1, 1, 1, 1, 1)  # 09:40
    rig.market = _minute(NOW)
    rig.store.fill_gap(_history(link), 30)
    starts = [start for start, _ in rig.released("GOOG")]
    assert starts == [_minute(GOOG_OPEN + 60 * m) for m in range(11, 30)]  # 09:41 .. 09:59
    assert all(historical for _, historical in rig.released("GOOG"))
    assert feed.aggregator._bar is not None and feed.aggregator._bar.start == _minute(NOW - 40)
