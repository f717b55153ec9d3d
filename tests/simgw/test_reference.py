"""Reference data through both unmodified client libraries: what simgw serves, and what it refuses."""

from __future__ import annotations

import asyncio
import importlib
import xml.etree.ElementTree as ET
from datetime import date
from unittest.mock import MagicMock

import numpy as np
import pytest

from tests.fixtures.simulator import SAMPLE_DATA
from tradd.marketdata.store import DataStore
from tradd.simgw import encode_reference
from tradd.simgw.contracts import instrument_for
from tradd.simgw.market_rules import RULES
from tradd.simgw.requests_reference import _histogram
from tradd.simgw.tape import Tape
from tradd.simgw.wire import fmt

from .conftest import open_market, sync

TODAY = date(2006, 1, 10)


def _goog(ib, iblib):
    return ib.qualifyContracts(iblib.Stock("GOOG", "SMART", "USD"))[0]


def _errors(ib) -> list[tuple[int, int]]:
    seen: list[tuple[int, int]] = []
    ib.errorEvent += lambda req_id, code, *rest: seen.append((req_id, code))
    return seen


def test_matching_symbols_by_prefix_then_name(connect, iblib) -> None:
    ib = connect()
    found = ib.reqMatchingSymbols("go")
    assert [d.contract.symbol for d in found] == ["GOOG"]
    goog = found[0].contract
    assert goog.conId == _goog(ib, iblib).conId
    assert (goog.secType, goog.primaryExchange, goog.currency) == ("STK", "NASDAQ", "USD")
    assert goog.description == ib.reqContractDetails(goog)[0].longName
    assert found[0].derivativeSecTypes == []  # the simulator lists no derivatives
    orcl = ib.qualifyContracts(iblib.Stock("ORCL", "SMART", "USD"))[0]
    long_name = ib.reqContractDetails(orcl)[0].longName
    word = max((w for w in long_name.split() if not "ORCL".startswith(w.upper())), key=len)
    by_name = ib.reqMatchingSymbols(word.lower())
    assert "ORCL" in [d.contract.symbol for d in by_name]
    assert all(word.upper() in (d.contract.description.upper() + " " + d.contract.symbol)
               for d in by_name)  # fmt: skip
    assert ib.reqMatchingSymbols("ZZZZ") == []


def test_market_rules_of_contract_details_resolve(connect, iblib) -> None:
    ib = connect()
    details = ib.reqContractDetails(_goog(ib, iblib))[0]
    rule_ids = [int(r) for r in details.marketRuleIds.split(",")]
    for rule_id in rule_ids:
        increments = ib.reqMarketRule(rule_id)
        assert [(p.lowEdge, p.increment) for p in increments] == list(RULES[rule_id])
    assert ib.reqMarketRule(26)[0].increment == details.minTick
    assert ib.reqMarketRule(987654) is None  # no such rule: no reply, the library gives up


def test_user_info_option_chains_and_venues(connect, iblib) -> None:
    ib = connect()
    goog = _goog(ib, iblib)
    errors = _errors(ib)
    assert not ib.reqUserInfo()  # an IBKR login: empty white-branding id (libraries drop it)
    assert ib.reqSecDefOptParams("GOOG", "", "STK", goog.conId) == []
    ticker = ib.reqMktData(goog, snapshot=True)
    sync(ib)
    components = ib.reqSmartComponents("9c0001")
    assert {c.exchange for c in components} == {"NYSE", "ARCA", "NASDAQ", "IEX"}
    assert len({c.bitNumber for c in components}) == len(components)
    assert ticker.contract.conId == goog.conId
    venues = ib.reqMktDepthExchanges()
    assert ("NASDAQ", "STK") in {(v.exchange, v.secType) for v in venues}
    assert errors == []


def test_histogram_is_the_tape_by_price(sim, connect, iblib) -> None:
    ib = connect()
    open_market(sim, ib, minutes=60)
    goog = _goog(ib, iblib)
    histogram = ib.reqHistogramData(goog, True, "1 day")
    minutes = ib.reqHistoricalData(goog, "", "1 D", "1 min", "TRADES", True)
    assert len(minutes) == 60
    assert sum(h.count for h in histogram) == sum(b.volume for b in minutes)
    low, high = min(b.low for b in minutes), max(b.high for b in minutes)
    assert all(low <= h.price <= high for h in histogram)
    assert all(abs(h.price * 100 - round(h.price * 100)) < 1e-6 for h in histogram)
    assert [h.price for h in histogram] == sorted({h.price for h in histogram})
    week = ib.reqHistogramData(goog, True, "1 week")
    assert sum(h.count for h in week) > sum(h.count for h in histogram)


def test_histogram_bad_period_is_refused_on_its_id(sim, connect, iblib) -> None:
    ib = connect()
    errors = _errors(ib)
    assert ib.reqHistogramData(_goog(ib, iblib), True, "3 fortnights") == []
    assert [code for _, code in errors] == [162]
    assert errors[0][0] > 0


def _day(ib, iblib, symbol):
    """Previous close and today's volume so far, from the library's own history calls."""
    contract = ib.qualifyContracts(iblib.Stock(symbol, "SMART", "USD"))[0]
    daily = ib.reqHistoricalData(contract, "", "5 D", "1 day", "TRADES", True)
    previous = [b for b in daily if b.date < TODAY][-1].close
    minutes = ib.reqHistoricalData(contract, "", "1 D", "1 min", "TRADES", True)
    return previous, minutes[-1].close, sum(b.volume for b in minutes)


def test_scanners_rank_the_simulated_market(sim, connect, iblib) -> None:
    ib = connect()
    open_market(sim, ib, minutes=60)
    sub = iblib.ScannerSubscription(instrument="STK", locationCode="STK.US.MAJOR")
    results = {}
    for code in ("TOP_PERC_GAIN", "TOP_PERC_LOSE", "MOST_ACTIVE"):
        sub.scanCode = code
        rows = ib.reqScannerData(sub)
        assert [r.rank for r in rows] == list(range(len(rows)))
        results[code] = [r.contractDetails.contract.symbol for r in rows]
    day = {s: _day(ib, iblib, s) for s in results["MOST_ACTIVE"]}
    change = {s: (last - prev) / prev for s, (prev, last, _) in day.items()}
    assert results["TOP_PERC_GAIN"] == sorted((s for s in change if change[s] > 0),
                                              key=lambda s: -change[s])  # fmt: skip
    assert results["TOP_PERC_LOSE"] == sorted((s for s in change if change[s] < 0),
                                              key=lambda s: change[s])  # fmt: skip
    assert results["MOST_ACTIVE"] == sorted(day, key=lambda s: -day[s][2])
    assert {"GOOG", "ORCL"} <= set(results["MOST_ACTIVE"])
    sub.scanCode, sub.numberOfRows = "MOST_ACTIVE", 1
    assert len(ib.reqScannerData(sub)) == 1


def test_scanner_parameters_and_unknown_scan_code(connect, iblib) -> None:
    ib = connect()
    errors = _errors(ib)
    root = ET.fromstring(ib.reqScannerParameters())
    assert root.tag == "ScanParameterResponse"
    codes = {e.text for e in root.iter("scanCode")}
    assert codes == {"TOP_PERC_GAIN", "TOP_PERC_LOSE", "MOST_ACTIVE"}
    locations = {e.text for e in root.iter("locationCode")}
    assert locations == {"STK.US", "STK.US.MAJOR"}
    sub = iblib.ScannerSubscription(instrument="STK", locationCode="STK.US.MAJOR",
                                    scanCode="HOT_BY_OPT_VOLUME")  # fmt: skip
    assert len(ib.reqScannerData(sub)) == 0
    assert [code for _, code in errors] == [162]


def test_news_is_empty_not_missing(connect, iblib) -> None:
    ib = connect()
    errors = _errors(ib)
    goog = _goog(ib, iblib)
    assert ib.reqNewsProviders() == []
    news = ib.reqHistoricalNews(goog.conId, "BRFG", "20060101 00:00:00", "20060110 00:00:00", 10)
    assert not news
    ib.reqNewsBulletins(True)
    sync(ib)
    assert errors == []
    assert not ib.reqNewsArticle("BRFG", "BRFG$04fb9da2")
    assert [code for _, code in errors] == [10172]


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda ib, c, lib: ib.reqFundamentalData(c, "ReportsFinSummary"), 10358),
        (lambda ib, c, lib: ib.reqMktDepth(c), 10092),
        (lambda ib, c, lib: ib.reqMktDepth(c, isSmartDepth=True), 10092),
        (lambda ib, c, lib: ib.getWshMetaData(), 10276),
        (
            lambda ib, c, lib: ib.calculateImpliedVolatility(
                lib.Option("GOOG", "20060120", 470.0, "C", "SMART"), 5.0, 466.0
            ),
            200,
        ),
        (lambda ib, c, lib: ib.reqFundamentalData(lib.Stock("NOPE", "SMART", "USD"), "x"), 200),
    ],
    ids=["fundamentals", "depth", "smart-depth", "wsh", "option-analytics", "unknown-contract"],
)
def test_refusals_end_the_call_on_its_own_id(connect, iblib, call, code) -> None:
    ib = connect()
    goog = _goog(ib, iblib)
    errors = _errors(ib)
    first_id = ib.client._reqIdSeq
    call(ib, goog, iblib)
    sync(ib)
    assert [c for _, c in errors] == [code]
    assert errors[0][0] >= first_id


def test_unreadable_request_ends_its_call_with_320_on_its_id(connect, iblib) -> None:
    ib = connect()
    errors = _errors(ib)
    req_id = ib.client.getReqId()
    pending = ib.wrapper.startReq(req_id)
    ib.client.send(81, req_id)  # reqMatchingSymbols without its pattern
    ib.run(asyncio.wait_for(pending, 2))
    assert errors == [(req_id, 320)]
    ib.client.send(91, "rule")  # reqMarketRule carries no request id: -1
    sync(ib)
    assert errors[1:] == [(-1, 320)]
    assert [d.contract.symbol for d in ib.reqMatchingSymbols("ORC")] == ["ORCL"]


def test_wire_messages_without_an_ib_method(connect, iblib) -> None:
    """Positions by model, family codes, soft-dollar tiers, display groups: each is answered."""
    ib = connect()
    errors = _errors(ib)
    calls: list[tuple[str, tuple]] = []
    names = ("positionMultiEnd", "familyCodes", "softDollarTiers", "displayGroupList")
    for name in names:
        setattr(ib.wrapper, name, lambda *args, _n=name: calls.append((_n, args)))
    account = ib.managedAccounts()[0]
    ib.client.reqPositionsMulti(900, account, "")
    ib.client.reqFamilyCodes()
    ib.client.reqSoftDollarTiers(901)
    ib.client.queryDisplayGroups(902)
    ib.client.setServerLogLevel(3)
    ib.client.cancelPositionsMulti(900)
    sync(ib)
    assert errors == []
    assert [n for n, _ in calls] == list(names)
    assert calls[0][1] == (900,)
    assert [(c.accountID, c.familyCodeStr) for c in calls[1][1][0]] == [("*", "")]
    assert calls[2][1] == (901, []) and calls[3][1] == (902, "")


@pytest.mark.parametrize("library", ["ib_async", "ib_insync"])
def test_position_multi_decodes_exactly(library: str) -> None:
    """positionMulti unpacks an exact field count in both libraries."""
    decoder = importlib.import_module(f"{library}.decoder").Decoder(MagicMock(), 176)
    inst = instrument_for("GOOG")
    decoder.interpret([fmt(f) for f in encode_reference.position_multi(7, "DU1", inst, 10.0,
                                                                       401.5)])  # fmt: skip
    req_id, account, model, contract, position, avg_cost = decoder.wrapper.positionMulti.call_args[
        0
    ]
    assert (req_id, account, model, position, avg_cost) == (7, "DU1", "", 10.0, 401.5)
    assert (contract.conId, contract.symbol, contract.exchange) == (inst.con_id, "GOOG", "SMART")


def test_histogram_of_minute_bars_keeps_every_share() -> None:
    """Earlier sessions of intraday data count at the bar close, the latest by bucket."""
    bars = DataStore(SAMPLE_DATA).load("IDXFUT", "1m")
    tape = Tape(instrument_for("IDXFUT"), bars, seed=0)
    i = len(bars) * 2 // 3
    now = int(tape.starts[i]) + 32  # six buckets into bar i
    histogram = _histogram(tape, now, 3)
    days = np.unique(tape.days[: i + 1])[-3:]
    first = int(np.searchsorted(tape.days, days[0]))
    partial = int(tape.buckets(i).volume[:6].sum())
    assert sum(v for _, v in histogram) == round(bars.volume[first:i].sum()) + partial
    prices = [p for p, _ in histogram]
    assert prices == sorted(set(prices))
    assert all(abs(p / tape.instrument.min_tick - round(p / tape.instrument.min_tick)) < 1e-6
               for p in prices)  # fmt: skip
    assert _histogram(tape, int(tape.starts[0]) - 1, 3) == []
