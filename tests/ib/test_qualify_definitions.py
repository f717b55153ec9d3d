"""Qualifying a symbol from its contract definition (the data directory's contracts.toml).

What the client sends is the definition's contract (per security type), IB's answer must
agree with the definition's multiplier (every value of the symbol depends on it), and a
symbol without a definition is qualified as before (a stock on SMART, or a forex pair).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.simulator import sim_config, worker_settings
from tradd.errors import TemporaryError
from tradd.ib.client import load_library
from tradd.ib.contract_request import request_fields
from tradd.ib.link import IBLink
from tradd.marketdata.contracts import (
    ContractDefinitions,
    ContractSpec,
    default_spec,
    load_definitions,
)
from tradd.simgw.background import BackgroundGateway

LIBRARIES = ("ib_async", "ib_insync")


@pytest.fixture(params=LIBRARIES)
def library(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def connected(tmp_path: Path, port: int, library: str, specs: list[ContractSpec]) -> IBLink:
    settings = worker_settings(tmp_path, port, "sqlite://", [],
                               broker={"library": library, "request_timeout": 5.0})  # fmt: skip
    definitions = ContractDefinitions({s.symbol: s for s in specs})
    link = IBLink(settings.broker, 33, symbols=(), definitions=definitions)
    link.start()
    assert link.wait_connected(10)
    return link


@pytest.fixture
def links(tmp_path: Path, simulator: Any) -> Iterator[Any]:
    made: list[IBLink] = []

    def make(library: str, specs: list[ContractSpec]) -> IBLink:
        made.append(connected(tmp_path, simulator.port, library, specs))
        return made[-1]

    yield make
    for link in made:
        link.stop()


def test_a_defined_stock_is_qualified_from_its_definition(links, library) -> None:
    goog = ContractSpec(symbol="GOOG", ib_symbol="GOOG", exchange="SMART",
                        primary_exchange="NASDAQ", currency="USD")  # fmt: skip
    link = links(library, [goog])
    link.qualify(["GOOG", "ORCL"])  # ORCL has no definition: a stock on SMART, as before
    info = link.contracts["GOOG"]
    assert (info.sec_type, info.multiplier, info.time_zone) == ("STK", 1.0, "US/Eastern")
    assert link.contracts["ORCL"].con_id not in (0, info.con_id)


def test_ib_disagreeing_with_the_definition_s_multiplier_is_refused(links, library) -> None:
    wrong = ContractSpec(symbol="GOOG", ib_symbol="GOOG", multiplier=10)
    link = links(library, [wrong])
    with pytest.raises(TemporaryError, match=r"GOOG: .*multiplier 1, its definition says 10"):
        link.qualify(["GOOG"])
    assert "GOOG" not in link.contracts


def test_an_unknown_definition_is_ib_s_no_match(links, library) -> None:
    ghost = ContractSpec(symbol="GHOST", sec_type="FUT", ib_symbol="GHOST", exchange="EUREX",
                         currency="EUR", last_trade_date="20060317", multiplier=10)  # fmt: skip
    link = links(library, [ghost])
    with pytest.raises(TemporaryError, match="GHOST: 0 contracts match"):
        link.qualify(["GHOST"])


@pytest.mark.parametrize("library_name", LIBRARIES)
def test_request_contract_per_security_type(library_name: str) -> None:
    """The fields IB matches on, in the library's own Contract (no connection needed)."""
    Contract = load_library(library_name).Contract
    future = Contract(**request_fields(ContractSpec(
        symbol="IDXFUT", sec_type="FUT", ib_symbol="ESTX50", exchange="EUREX", currency="EUR",
        local_symbol="FESX MAR 06", trading_class="FESX", last_trade_date="20060317",
        multiplier=10, time_zone="MET",
    )))  # fmt: skip
    assert (future.secType, future.symbol, future.exchange, future.currency) == (
        "FUT", "ESTX50", "EUREX", "EUR")  # fmt: skip
    assert (future.localSymbol, future.lastTradeDateOrContractMonth, future.multiplier) == (
        "FESX MAR 06", "20060317", "10")  # fmt: skip
    pair = Contract(**request_fields(default_spec("EURUSD")))
    assert (pair.secType, pair.symbol, pair.currency, pair.exchange) == (
        "CASH", "EUR", "USD", "IDEALPRO")  # fmt: skip
    assert pair.multiplier == ""  # only a future's multiplier is part of its identity
    stock = Contract(**request_fields(ContractSpec(symbol="SAP", ib_symbol="SAP", exchange="SMART",
                                           primary_exchange="IBIS", currency="EUR")))  # fmt: skip
    assert (stock.secType, stock.primaryExchange, stock.currency) == ("STK", "IBIS", "EUR")


@pytest.mark.parametrize("library_name", LIBRARIES)
def test_a_future_s_broker_position_is_per_unit_like_the_strategy_s(
    tmp_path: Path, library_name: str
) -> None:
    """IB reports a future's average cost per contract (price x 10); the worker compares it
    with Backtrader's per-unit average price, so it divides by the multiplier on the way in."""
    sample = Path(__file__).resolve().parents[2] / "tradd" / "sample_data"
    spec = load_definitions(sample).spec("IDXFUT")
    with BackgroundGateway(sim_config(symbols=("IDXFUT",), data_dir=sample)) as sim:
        sim.call(sim.gw.advance, datetime(2006, 1, 10, 9, 5, tzinfo=UTC).timestamp()
                 - sim.gw.sim_time)  # fmt: skip
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        lib = load_library(library_name)
        ib = lib.IB()
        ib.connect("127.0.0.1", sim.port, clientId=7, timeout=4)
        fut = lib.Future("ESTX50", "20060317", "EUREX")
        ib.qualifyContracts(fut)
        trade = ib.placeOrder(fut, lib.MarketOrder("BUY", 2))
        sim.call(sim.gw.advance, 10)
        while trade.orderStatus.status != "Filled":
            ib.waitOnUpdate(timeout=1)
        price = trade.orderStatus.avgFillPrice
        ib.disconnect()
        asyncio.set_event_loop(None)
        loop.close()
        link = connected(tmp_path, sim.port, library_name, [spec])
        try:
            link.qualify(["IDXFUT"])
            (held,) = [p for p in link.positions() if p.symbol == "IDXFUT"]
            assert held.quantity == 2
            assert held.avg_cost == pytest.approx(price + 2 * 1.0 / (2 * 10))  # EUR 1 a side
        finally:
            link.stop()
