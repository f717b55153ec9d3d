"""Forex history as IDEALPRO serves it: quotes only, TRADES refused, and tradd's own
client asking for what IB serves (MIDPOINT) so a forex symbol's bars reach the worker."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.fixtures.simulator import SAMPLE_DATA, eventually, worker_settings
from tests.simgw.conftest import GOOG_OPEN, LIBRARIES, advance, sim_config, wait_until
from tradd.ib.events import BarReceived
from tradd.ib.link import IBLink
from tradd.simgw.background import BackgroundGateway

NO_TRADES = "Historical Market Data Service error message:No historical market data for " \
            "EUR/CASH@FXSUBPIP Last"  # fmt: skip


@pytest.fixture
def fx_sim(tmp_path: Path) -> Iterator[BackgroundGateway]:
    """A simulator replaying EURUSD (GOOG's days scaled to a currency's prices)."""
    data = tmp_path / "data"
    data.mkdir()
    goog = pd.read_csv(SAMPLE_DATA / "GOOG.1d.csv")
    for col in ("open", "high", "low", "close"):
        goog[col] = (goog[col] / 400).round(5)
    goog.to_csv(data / "EURUSD.1d.csv", index=False)
    with BackgroundGateway(sim_config(data_dir=data, symbols=("EURUSD",))) as gateway:
        yield gateway


@pytest.fixture(params=LIBRARIES)
def fx_ib(fx_sim: BackgroundGateway, request: pytest.FixtureRequest) -> Iterator[Any]:
    lib = __import__(request.param)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    ib = lib.IB()
    ib.connect("127.0.0.1", fx_sim.port, clientId=1, timeout=4)
    advance(fx_sim, ib, GOOG_OPEN + 600 - fx_sim.gw.sim_time)
    yield ib, lib.Forex("EURUSD")
    ib.disconnect()
    asyncio.set_event_loop(None)
    loop.close()


def _errors(ib: Any) -> list[tuple[int, int, str]]:
    seen: list[tuple[int, int, str]] = []
    ib.errorEvent += lambda req_id, code, msg, *rest: seen.append((req_id, code, msg))
    return seen


def test_forex_history_has_no_trades_but_quotes(fx_sim, fx_ib) -> None:
    ib, eur = fx_ib
    ib.qualifyContracts(eur)
    seen = _errors(ib)
    assert len(ib.reqHistoricalData(eur, "", "1 D", "5 mins", "TRADES", True)) == 0
    assert [(code, msg) for req_id, code, msg in seen if req_id > 0] == [(162, f"{NO_TRADES} 300")]
    mid = ib.reqHistoricalData(eur, "", "1 D", "5 mins", "MIDPOINT", True)
    assert all(b.volume == -1 and b.barCount == -1 for b in mid)
    # IDEALPRO's session opens at 17:15 New York the evening before: "1 D" reaches back to it
    assert (mid[0].date.day, mid[0].date.hour, mid[0].date.minute) == (9, 17, 15)
    assert len(mid) == (16 * 60 + 25) // 5  # 17:15 .. 09:40, the moment of the request
    assert 0.5 < mid[-1].close < 2.0
    daily = ib.reqHistoricalData(eur, "", "1 M", "1 day", "BID", True)
    assert daily and daily[-1].close == pytest.approx(mid[-1].close - 0.00005)


def test_forex_realtime_trades_refused_quotes_streamed(fx_sim, fx_ib) -> None:
    ib, eur = fx_ib
    ib.qualifyContracts(eur)
    seen = _errors(ib)
    trades = ib.reqRealTimeBars(eur, 5, "TRADES", True)
    mid = ib.reqRealTimeBars(eur, 5, "MIDPOINT", True)
    advance(fx_sim, ib, 20)
    wait_until(ib, lambda: len(mid) == 4)
    assert len(trades) == 0
    assert [(code, msg) for req_id, code, msg in seen if req_id > 0] == [(162, f"{NO_TRADES} 5")]


@pytest.mark.parametrize("library", LIBRARIES)
def test_forex_bars_reach_the_workers_client(tmp_path: Path, fx_sim, library: str) -> None:
    settings = worker_settings(tmp_path, fx_sim.port, "sqlite://", [],
                               broker={"library": library, "request_timeout": 5.0})  # fmt: skip
    fx_sim.call(fx_sim.gw.advance, GOOG_OPEN + 600 - fx_sim.gw.sim_time)
    link = IBLink(settings.broker, 31, symbols=("EURUSD",))
    link.start()
    try:
        assert link.wait_connected(10)
        got = link.history("EURUSD", "1 D", "1 min")
        # IDEALPRO's day runs from 17:15 New York the evening before (22:15 UTC) to now
        assert got.errors == () and len(got.bars) == 16 * 60 + 25
        assert got.bars[0].start == datetime(2006, 1, 9, 22, 15, tzinfo=UTC)
        assert all(b.volume == 0 for b in got.bars)  # IB's -1 (no volume) read as none
        fx_sim.call(fx_sim.gw.advance, 10)
        live = eventually(lambda: [e for e in _drain(link) if isinstance(e, BarReceived)],
                          what="a real-time EURUSD bar")  # fmt: skip
        assert live[0].bar.symbol == "EURUSD" and live[0].bar.volume == 0
    finally:
        link.stop()


def _drain(link: IBLink) -> list[object]:
    out = []
    while not link.inbox.empty():
        out.append(link.inbox.get_nowait())
    return out
