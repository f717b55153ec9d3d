"""Commissions per asset class, through both libraries: US stocks at IB's per-share fixed
rate, IDEALPRO forex at 0.2 basis points with the USD 2 minimum (reported in USD), and
futures per contract in their currency; futures positions valued at their multiplier."""

from __future__ import annotations

import asyncio
import csv
import importlib
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.fixtures.simulator import SAMPLE_DATA
from tradd.simgw.account import AccountState
from tradd.simgw.background import BackgroundGateway
from tradd.simgw.commissions import commission_for

from .conftest import open_market, sim_config, wait_until

EUR_PER_GOOG = 375.0  # EURUSD made from GOOG's shape, scaled to about 1.2


def _fx_data(root: Path) -> Path:
    """A data directory with GOOG and an EURUSD series derived from it."""
    (root / "GOOG.1d.csv").write_text((SAMPLE_DATA / "GOOG.1d.csv").read_text())
    with (SAMPLE_DATA / "GOOG.1d.csv").open() as src, (root / "EURUSD.1d.csv").open("w") as out:
        rows = csv.DictReader(src)
        writer = csv.writer(out)
        writer.writerow(["datetime", "open", "high", "low", "close", "volume"])
        for row in rows:
            prices = [
                round(float(row[k]) / EUR_PER_GOOG, 5) for k in ("open", "high", "low", "close")
            ]
            writer.writerow([row["datetime"], *prices, row["volume"]])
    return root


@pytest.fixture(params=["ib_async", "ib_insync"])
def fx(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Any, Any, Any]]:
    """(simulator, connected client, library) with GOOG and EURUSD."""
    config = sim_config(data_dir=_fx_data(tmp_path), symbols=("GOOG", "EURUSD"))
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    iblib = importlib.import_module(request.param)
    with BackgroundGateway(config) as sim:
        ib = iblib.IB()
        ib.connect("127.0.0.1", sim.port, clientId=1, timeout=4)
        try:
            yield sim, ib, iblib
        finally:
            ib.disconnect()
    asyncio.set_event_loop(None)
    loop.close()


def _eurusd(ib: Any, iblib: Any) -> Any:
    return ib.qualifyContracts(iblib.Forex("EURUSD"))[0]


def test_forex_what_if_costs_the_usd_2_minimum_not_a_stock_commission(fx) -> None:
    sim, ib, iblib = fx
    open_market(sim, ib)
    state = ib.whatIfOrder(_eurusd(ib, iblib), iblib.MarketOrder("BUY", 20_000))
    assert float(state.commission) == pytest.approx(2.0)
    assert state.commissionCurrency == "USD"
    eurusd = _eurusd(ib, iblib)
    big = ib.whatIfOrder(eurusd, iblib.MarketOrder("BUY", 2_000_000))
    value = 2_000_000 * sim.call(sim.gw.core.mark, eurusd.conId)
    assert float(big.commission) == pytest.approx(value * 0.00002, rel=0.01)  # 0.2 bp


def test_stock_what_if_keeps_ibs_per_share_rate(fx) -> None:
    sim, ib, iblib = fx
    open_market(sim, ib)
    goog = ib.qualifyContracts(iblib.Stock("GOOG", "SMART", "USD"))[0]
    state = ib.whatIfOrder(goog, iblib.MarketOrder("BUY", 1000))
    assert float(state.commission) == pytest.approx(5.0)  # 1000 x 0.005
    assert state.commissionCurrency == "USD"


def test_forex_fill_reports_its_commission_in_usd(fx) -> None:
    sim, ib, iblib = fx
    open_market(sim, ib)
    reports: list[Any] = []
    ib.commissionReportEvent += lambda trade, fill, report: reports.append(report)
    trade = ib.placeOrder(_eurusd(ib, iblib), iblib.MarketOrder("BUY", 20_000))
    wait_until(ib, lambda: trade.isDone() and len(reports) == 1)
    assert trade.orderStatus.status == "Filled"
    assert reports[0].commission == pytest.approx(2.0)
    assert reports[0].currency == "USD"


def test_forex_outside_rth_flag_is_ignored_with_2109(fx) -> None:
    """IDEALPRO has no regular-hours distinction: IB accepts the order and warns 2109."""
    sim, ib, iblib = fx
    open_market(sim, ib)
    errors: list[tuple[int, int]] = []
    ib.errorEvent += lambda req_id, code, *rest: errors.append((req_id, code))
    trade = ib.placeOrder(_eurusd(ib, iblib), iblib.LimitOrder("BUY", 20_000, 0.5, outsideRth=True))
    wait_until(ib, lambda: (trade.order.orderId, 2109) in errors)
    assert trade.orderStatus.status == "Submitted"


def _inst(sec_type: str, currency: str = "USD", symbol: str = "X") -> Any:
    return SimpleNamespace(sec_type=sec_type, currency=currency, symbol=symbol)


def test_commission_schedule_per_asset_class() -> None:
    stock = commission_for(_inst("STK"), 100, 50.0)
    assert (stock.amount, stock.currency) == (1.0, "USD")  # the minimum
    eur = commission_for(_inst("CASH", "USD", "EUR"), 20_000, 1.2)
    assert (eur.amount, eur.currency) == (2.0, "USD")
    large = commission_for(_inst("CASH", "USD", "EUR"), 10_000_000, 1.2)
    assert large.amount == pytest.approx(240.0)  # 0.2 bp of USD 12M
    usd_jpy = commission_for(_inst("CASH", "JPY", "USD"), 10_000_000, 110.0)
    assert (usd_jpy.amount, usd_jpy.currency) == (pytest.approx(200.0), "USD")  # value in USD
    fut = commission_for(_inst("FUT", "EUR"), -3, 3500.0)
    assert (fut.amount, fut.currency) == (3.0, "EUR")  # per contract, in the contract's currency


def test_future_positions_count_at_their_multiplier() -> None:
    acct = AccountState("DU1", 100_000.0)
    acct.apply_fill(7, 2, 3500.0, 2.0, multiplier=10.0)  # two FESX at 3500, EUR 10 a point
    assert acct.cash == pytest.approx(100_000.0 - 70_000.0 - 2.0)
    v = acct.valuation({7: 3510.0}, {7: 10.0})
    assert v.gross_position_value == pytest.approx(70_200.0)
    assert v.net_liquidation == pytest.approx(100_000.0 - 2.0 + 200.0)
    realized = acct.apply_fill(7, -2, 3520.0, 2.0, multiplier=10.0)
    assert realized == pytest.approx(2 * 20.0 * 10.0 - 2.0 - 2.0)  # both commissions
