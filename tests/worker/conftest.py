"""Worker test helpers: start a scripted strategy against the simulator, compare ledgers."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.simulator import GOOG_OPEN, Live, strategy_entry, worker_settings
from tradd.persistence.db import open_database
from tradd.persistence.ledger import Ledger
from tradd.simgw.background import BackgroundGateway

LIBRARIES = ("ib_async", "ib_insync")


@pytest.fixture(params=LIBRARIES)
def library(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'tradd.db'}"


Launch = Callable[..., Live]


@pytest.fixture
def launch(
    tmp_path: Path, simulator: BackgroundGateway, sqlite_url: str, start_worker: Callable[..., Live]
) -> Launch:
    """Start strategy `s1` running `script` on the simulator; wait until it is ready, at
    GOOG's session open (the first `advance(60)` completes the first live 1-minute bar)."""

    def go(script: str = "", *, url: str | None = None, library: str = "ib_async",
           open_market: bool = True, entry: dict[str, Any] | None = None,
           failpoints: frozenset[str] = frozenset(), **sections: Any) -> Live:  # fmt: skip
        entry = dict(entry or {})
        params = {"script": script, **entry.pop("params", {})}
        strategy = strategy_entry(params=params, **entry)
        broker = {"library": library, **sections.pop("broker", {})}
        settings = worker_settings(tmp_path, simulator.port, url or sqlite_url, [strategy],
                                   broker=broker, **sections)  # fmt: skip
        live = start_worker(settings, simulator, failpoints=failpoints).ready()
        if open_market:
            live.advance(max(GOOG_OPEN - simulator.gw.sim_time, 0))
        return live

    return go


@pytest.fixture
def ledger_for(sqlite_url: str) -> Iterator[Callable[..., Ledger]]:
    engines: list[Any] = []

    def make(strategy: str = "s1", url: str | None = None) -> Ledger:
        engine, sessions = open_database(url or sqlite_url)
        engines.append(engine)
        return Ledger(sessions, strategy)

    yield make
    for engine in engines:
        engine.dispose()


def sim_ledger(sim: BackgroundGateway, prefix: str = "s1-") -> dict[str, Any]:
    """The simulator's own record of our orders, fills and the account's positions."""

    def read() -> dict[str, Any]:
        state = sim.gw.state
        orders = [o.order_ref for o in state.orders.values() if o.order_ref.startswith(prefix)]
        fills = {e.exec_id: (e.order_ref, e.side, e.shares, e.price, e.commission)
                 for e in state.executions if e.order_ref.startswith(prefix)}  # fmt: skip
        symbols = {i.con_id: i.symbol for i in sim.gw.core.instruments.values()}
        positions = {symbols[c]: p.quantity for c, p in state.account.positions.items()
                     if p.quantity}  # fmt: skip
        return {"orders": orders, "fills": fills, "positions": positions}

    return sim.call(read)


def assert_ledger_matches_simulator(sim: BackgroundGateway, ledger: Ledger) -> dict[str, Any]:
    """Fills and positions in the database equal the simulator's; no order sent twice."""
    theirs = sim_ledger(sim, f"{ledger.strategy}-")
    duplicates = [ref for ref, n in Counter(theirs["orders"]).items() if n > 1]
    assert not duplicates, f"orders sent twice: {duplicates}"
    ours = {f.exec_id: (f.order_ref, f.side, f.quantity, f.price, f.commission)
            for f in ledger.fills()}  # fmt: skip
    assert ours == theirs["fills"]
    assert ledger.account_positions() == theirs["positions"]
    known = {o.order_ref for o in ledger.orders()}
    assert set(theirs["orders"]) <= known, "the simulator has orders the ledger never saw"
    return theirs
