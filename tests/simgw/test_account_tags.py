"""Account values through both libraries: IB's standard account-summary tag set, the ledger
groups, the same numbers whichever of the three account requests a client uses, the
previous day's equity, and TWS's limit of two account-summary subscriptions (322)."""

from __future__ import annotations

from typing import Any

import pytest

from tradd.simgw.requests_account import SUMMARY_LIMIT

from .conftest import GOOG_OPEN, advance, open_market, sync, wait_until

STANDARD = {  # IB's AccountSummaryTags (TWS API reference), spelled out independently
    "AccountType", "NetLiquidation", "TotalCashValue", "SettledCash", "AccruedCash",
    "BuyingPower", "EquityWithLoanValue", "PreviousDayEquityWithLoanValue",
    "GrossPositionValue", "RegTEquity", "RegTMargin", "SMA", "InitMarginReq", "MaintMarginReq",
    "AvailableFunds", "ExcessLiquidity", "Cushion", "FullInitMarginReq", "FullMaintMarginReq",
    "FullAvailableFunds", "FullExcessLiquidity", "LookAheadNextChange", "LookAheadInitMarginReq",
    "LookAheadMaintMarginReq", "LookAheadAvailableFunds", "LookAheadExcessLiquidity",
    "HighestSeverity", "DayTradesRemaining", "Leverage",
}  # fmt: skip
LEDGER = {"CashBalance", "TotalCashBalance", "NetLiquidationByCurrency", "StockMarketValue",
          "UnrealizedPnL", "RealizedPnL", "ExchangeRate"}  # fmt: skip


def _buy_goog(sim: Any, ib: Any, iblib: Any) -> None:
    open_market(sim, ib)
    goog = ib.qualifyContracts(iblib.Stock("GOOG", "SMART", "USD"))[0]
    trade = ib.placeOrder(goog, iblib.MarketOrder("BUY", 500))
    wait_until(ib, trade.isDone)
    sync(ib)


def _by_key(values: list[Any]) -> dict[tuple[str, str], str]:
    return {(v.tag, v.currency): v.value for v in values}


def _multi(ib: Any) -> dict[tuple[str, str], str]:
    """What one reqAccountUpdatesMulti answers (the libraries merge it into accountValues)."""
    rows: list[Any] = []
    ib.accountValueEvent += rows.append
    ib.reqAccountUpdatesMulti()
    ib.accountValueEvent -= rows.append
    return _by_key(rows)


def test_summary_serves_ibs_standard_tags_and_ledger(sim, connect, iblib) -> None:
    ib = connect()
    summary = _by_key(ib.accountSummary())  # the libraries ask for the set and $LEDGER:ALL
    tags = {tag for tag, _ in summary}
    assert tags >= STANDARD
    assert summary[("AccountType", "")] == "INDIVIDUAL"
    assert float(summary[("NetLiquidation", "USD")]) == pytest.approx(1_000_000)
    for tag in LEDGER:
        assert summary[(tag, "USD")] == summary[(tag, "BASE")]
    assert float(summary[("ExchangeRate", "USD")]) == 1.0


def test_three_account_requests_agree(sim, connect, iblib) -> None:
    ib = connect()
    _buy_goog(sim, ib, iblib)
    summary = _by_key(ib.accountSummary())
    updates = _by_key(ib.accountValues())
    multi = _multi(ib)
    assert float(summary[("GrossPositionValue", "USD")]) > 0  # the position is in the figures
    for (tag, ccy), value in summary.items():
        key = ("Leverage-S", ccy) if tag == "Leverage" else (tag, ccy)
        assert updates[key] == value == multi[key], (tag, ccy)
    for tag in ("NetLiquidation", "EquityWithLoanValue", "TotalCashValue", "InitMarginReq"):
        assert updates[(f"{tag}-S", "USD")] == updates[(tag, "USD")]  # the securities segment


@pytest.mark.parametrize("group, currencies", [
    ("$LEDGER", {"BASE"}), ("$LEDGER:USD", {"USD"}), ("$LEDGER:ALL", {"USD", "BASE"}),
    ("NetLiquidation,BuyingPower", {"USD"}),
])  # fmt: skip
def test_summary_groups(sim, connect, iblib, group: str, currencies: set[str]) -> None:
    ib = connect()
    rows: list[Any] = []
    ib.accountSummaryEvent += rows.append
    ib.client.reqAccountSummary(ib.client.getReqId(), "All", group)
    sync(ib)
    assert {v.currency for v in rows} == currencies
    tags = {v.tag for v in rows}
    assert tags == ({"NetLiquidation", "BuyingPower"} if "," in group else tags)
    if group.startswith("$LEDGER"):
        assert tags >= LEDGER and not tags & STANDARD - {"AccruedCash"}


def test_third_summary_subscription_is_refused_until_one_is_cancelled(sim, connect, iblib) -> None:
    ib = connect()
    errors: list[tuple[int, int, str]] = []
    ib.errorEvent += lambda req_id, code, text, *rest: errors.append((req_id, code, text))
    rows: list[Any] = []
    ib.accountSummaryEvent += rows.append
    first, second, third = (ib.client.getReqId() for _ in range(3))
    for req_id in (first, second):
        ib.client.reqAccountSummary(req_id, "All", "NetLiquidation")
    other = connect(client_id=2)  # the limit is TWS's, across its clients
    other_errors: list[tuple[int, int]] = []
    other.errorEvent += lambda req_id, code, *rest: other_errors.append((req_id, code))
    other.client.reqAccountSummary(7, "All", "NetLiquidation")
    sync(other)
    assert other_errors == [(7, 322)]
    ib.client.reqAccountSummary(third, "All", "NetLiquidation")
    sync(ib)
    assert (third, 322, SUMMARY_LIMIT) in errors
    ib.client.cancelAccountSummary(first)
    rows.clear()
    ib.client.reqAccountSummary(third, "All", "NetLiquidation")
    sync(ib)
    assert [v.tag for v in rows] == ["NetLiquidation"]
    assert [e for e in errors if e[1] == 322] == [(third, 322, SUMMARY_LIMIT)]
    ib.disconnect()  # a client that goes frees its subscriptions
    wait_until(other, lambda: sim.call(lambda: 1 not in sim.gw.core.sessions))
    other_rows: list[Any] = []
    other.accountSummaryEvent += other_rows.append
    other.client.reqAccountSummary(8, "All", "NetLiquidation")
    sync(other)
    assert other_errors == [(7, 322)] and [v.tag for v in other_rows] == ["NetLiquidation"]


def test_previous_day_equity_is_yesterdays_close(sim, connect, iblib) -> None:
    ib = connect()
    _buy_goog(sim, ib, iblib)
    advance(sim, ib, GOOG_OPEN + 7 * 3600 - sim.gw.sim_time)  # after the close
    closing = _multi(ib)[("NetLiquidation", "USD")]
    today = _multi(ib)[("PreviousDayEquityWithLoanValue", "USD")]
    assert float(today) == pytest.approx(1_000_000)  # the start, before any day closed
    advance(sim, ib, 9 * 3600)  # past midnight: a new trading day
    values = _multi(ib)
    assert values[("PreviousDayEquityWithLoanValue", "USD")] == closing
    summary = _by_key(ib.accountSummary())
    assert summary[("PreviousDayEquityWithLoanValue", "USD")] == closing
