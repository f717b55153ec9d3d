"""A worker trading a non-US future from its contract definition, through its real session.

IDXFUT is defined in the sample data's contracts.toml as the Euro Stoxx 50 future on Eurex
(FESX, multiplier 10, MET, 09:00-22:00). The worker qualifies it from that definition, the
simulator serves it with IB-format trading hours, and the worker must: receive bars only
within the session, place orders only while the market is open, trade the future's
contract, and size and value it as quantity x price x 10.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.fixtures.simulator import SAMPLE_DATA, Live, sim_config, strategy_entry, worker_settings
from tradd.persistence.db import open_database
from tradd.simgw.background import BackgroundGateway
from tradd.supervisor.emergency import flatten_strategy

from .conftest import assert_ledger_matches_simulator

MET = ZoneInfo("MET")
OPEN, CLOSE = time(9, 0), time(22, 0)
MULTIPLIER = 10.0
POSITION_PCT = 20.0


@pytest.fixture
def future_sim() -> Iterator[BackgroundGateway]:
    with BackgroundGateway(sim_config(symbols=("IDXFUT",))) as sim:
        yield sim


def launch(tmp_path: Path, sim: BackgroundGateway, start_worker: Any, library: str,
           script: str = "2:BUY;4:CLOSE") -> Live:  # fmt: skip
    strategy = strategy_entry(
        symbols=["IDXFUT"], bar="1m", warmup_bars=5, position_pct=POSITION_PCT,
        params={"script": script},
    )  # fmt: skip
    settings = worker_settings(
        tmp_path, sim.port, f"sqlite:///{tmp_path / 'tradd.db'}", [strategy],
        broker={"library": library}, data={"dir": str(SAMPLE_DATA)},
    )  # fmt: skip
    return start_worker(settings, sim).ready()  # type: ignore[no-any-return]


def in_session(moment: datetime) -> bool:
    local = moment.astimezone(MET)
    return local.weekday() < 5 and OPEN <= local.time() < CLOSE


def live_bar_times(live: Live) -> list[datetime]:
    """The end times (MET) of the live bars the strategy saw, oldest first."""
    strategy = live.worker.cerebro.runningstrats[0]
    data = strategy.datas[0]
    stamps = [data.datetime.datetime(-i, tz=MET) for i in range(strategy.live_bars)]
    return sorted(stamp.replace(tzinfo=MET) if stamp.tzinfo is None else stamp for stamp in stamps)


def test_worker_trades_a_future_through_its_session(
    tmp_path, future_sim, start_worker, library
) -> None:
    live = launch(tmp_path, future_sim, start_worker, library)
    contract = live.worker.link.contracts["IDXFUT"]
    assert (contract.sec_type, contract.multiplier, contract.time_zone) == ("FUT", 10.0, "MET")
    assert "20060110:0900-20060110:2200" in contract.liquid_hours  # IB's format, in MET

    store = live.engine.store
    day = datetime(2006, 1, 10, tzinfo=MET)
    assert not store.market_open("IDXFUT", day.replace(hour=8, minute=59))
    assert store.market_open("IDXFUT", day.replace(hour=9, minute=0))
    assert store.market_open("IDXFUT", day.replace(hour=21, minute=59))
    assert not store.market_open("IDXFUT", day.replace(hour=22, minute=0))

    opened = future_sim.gw.sim_datetime.astimezone(MET)
    assert opened.time() <= time(9, 1), f"the simulator started at {opened}, not the open"
    for _ in range(5):
        live.advance(60)
    strategy = live.worker.cerebro.runningstrats[0]
    assert strategy.live_bars >= 4, strategy.notes
    buy, close = strategy.orders[0], strategy.orders[1]
    quantity = buy.executed.size
    price = buy.executed.price
    # The sizer: whole contracts worth 20% of net liquidation, a contract being price x 10.
    budget = live.engine.broker.getvalue() * POSITION_PCT / 100.0
    assert 0 < quantity * price * MULTIPLIER <= budget * 1.01
    assert (quantity + 1) * price * MULTIPLIER > budget * 0.99, "sized as if multiplier 1"
    assert close.executed.size == -quantity

    theirs = assert_ledger_matches_simulator(future_sim, live.worker.engine.manager._ledger)
    assert theirs["positions"] == {}
    instruments = {i.con_id: i for i in future_sim.gw.core.instruments.values()}
    for execution in future_sim.gw.state.executions:
        inst = instruments[execution.con_id]
        assert (inst.sec_type, float(inst.multiplier)) == ("FUT", MULTIPLIER)

    fills = live.worker.engine.manager._ledger.fills()
    gross = fills[0].quantity * (fills[1].price - fills[0].price) * MULTIPLIER
    book = live.engine.manager.book
    assert book.realized_pnl == pytest.approx(gross)
    trades = [t for ts in strategy._trades.values() for tl in ts.values() for t in tl]
    assert sum(t.pnl for t in trades if t.isclosed) == pytest.approx(gross)

    placed = [datetime.fromtimestamp(o.placed_at, MET) for o in future_sim.gw.state.orders.values()]
    filled = [datetime.fromtimestamp(e.time, MET) for e in future_sim.gw.state.executions]
    assert len(placed) == len(filled) == 2
    assert all(in_session(moment) for moment in placed + filled), (placed, filled)

    # Through the close and the night to the next morning's open: bars only in session.
    seen = future_sim.gw.sim_datetime.astimezone(MET)
    next_open = datetime.combine(seen.date() + timedelta(days=1), OPEN, MET)
    live.advance((next_open - seen).total_seconds() + 120)
    stamps = live_bar_times(live)
    assert len(stamps) > 700, f"only {len(stamps)} live bars through a whole session"
    outside = [s for s in stamps if s.weekday() > 4 or not OPEN <= s.time() <= CLOSE]
    assert not outside, f"bars outside 09:00-22:00 MET: {outside[:5]}"
    assert any(s.date() == next_open.date() for s in stamps), "no bar after the next open"
    assert max(s for s in stamps if s.date() == seen.date()).time() <= CLOSE
    assert not live.engine.watchdog.stale, "the closed market counted as stale data"
    refreshed = live.worker.link.contracts["IDXFUT"]  # the daily refresh: the future again
    assert (refreshed.sec_type, refreshed.multiplier) == ("FUT", MULTIPLIER)
    assert refreshed.liquid_hours.startswith(f"{next_open:%Y%m%d}:0900-"), refreshed.liquid_hours
    assert math.isfinite(live.engine.account.net_liquidation)
    assert live.stop() == 0


def test_emergency_flatten_closes_the_future_from_its_definition(
    tmp_path, future_sim, start_worker, library
) -> None:
    """The supervisor's kill switch qualifies the strategy's symbols itself: the future."""
    live = launch(tmp_path, future_sim, start_worker, library, script="2:BUY:2")
    for _ in range(3):
        live.advance(60)
    assert live.engine.manager.book.position("IDXFUT").quantity == 2
    feed = live.engine.store.feeds["IDXFUT"]  # Backtrader's value of the position: x 10
    value = live.engine.broker.getvalue([feed])
    assert value == pytest.approx(2 * feed.close[0] * MULTIPLIER)
    settings = live.worker.settings
    assert live.stop() == 0
    engine, sessions = open_database(settings.database_url().get_secret_value())
    try:
        result = flatten_strategy(settings, "s1", sessions, requested_by="test", timeout=20)
    finally:
        engine.dispose()
    assert result["ok"], result
    assert result["symbols"]["IDXFUT"]["after"] == 0.0
    instruments = {i.con_id: i for i in future_sim.gw.core.instruments.values()}
    sells = [e for e in future_sim.gw.state.executions if e.side in ("SLD", "SELL")]
    assert [(instruments[e.con_id].sec_type, e.shares) for e in sells] == [("FUT", 2.0)]
