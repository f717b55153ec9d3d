"""Both unmodified client libraries against the simulator over TCP: connect, contracts, data."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from tradd.simgw.background import BackgroundGateway

from .conftest import GOOG_OPEN, advance, open_market, sim_config, sync, wait_until


def test_connect_is_ready_with_accounts_and_next_id(connect, iblib) -> None:
    started = time.monotonic()
    ib = connect(client_id=7)
    assert time.monotonic() - started < 4
    assert ib.isConnected()
    assert ib.managedAccounts() == ["DU0000001"]
    assert ib.client.getReqId() >= 1
    assert ib.positions() == []
    assert ib.openTrades() == []


def test_several_clients_and_client_id_in_use(sim, connect, iblib) -> None:
    first = connect(client_id=1)
    second = connect(client_id=2)
    assert first.isConnected() and second.isConnected()
    clash = iblib.IB()
    errors: list[int] = []
    clash.errorEvent += lambda req_id, code, *rest: errors.append(code)
    with pytest.raises((TimeoutError, ConnectionError)):
        clash.connect("127.0.0.1", sim.port, clientId=1, timeout=1)
    assert 326 in errors
    assert not clash.isConnected()
    assert first.isConnected()
    sync(first)


def test_qualify_known_and_unknown(connect, iblib) -> None:
    ib = connect()
    errors: list[int] = []
    ib.errorEvent += lambda req_id, code, *rest: errors.append(code)
    goog = iblib.Stock("GOOG", "SMART", "USD")
    ib.qualifyContracts(goog)
    assert goog.conId > 0 and goog.primaryExchange == "NASDAQ"
    again = iblib.Stock("GOOG", "SMART", "USD")
    ib.qualifyContracts(again)
    assert again.conId == goog.conId  # stable
    details = ib.reqContractDetails(iblib.Contract(conId=goog.conId))
    assert [d.contract.symbol for d in details] == ["GOOG"]
    assert details[0].minTick == 0.01 and details[0].timeZoneId == "US/Eastern"
    unknown = iblib.Stock("NOPE", "SMART", "USD")
    result = ib.qualifyContracts(unknown)
    assert unknown.conId == 0
    assert [c for c in result if c] == []
    assert 200 in errors


def _goog(ib, iblib):
    return ib.qualifyContracts(iblib.Stock("GOOG", "SMART", "USD"))[0]


def test_daily_history_ending_now_ends_with_todays_bar_in_progress(sim, connect, iblib) -> None:
    """As TWS: a request ending now gets the current (incomplete) daily bar last."""
    ib = connect()
    open_market(sim, ib, minutes=60)
    bars = ib.reqHistoricalData(_goog(ib, iblib), "", "1 Y", "1 day", "TRADES", True)
    assert 240 <= len(bars) <= 260
    assert bars[-2].date.isoformat() == "2006-01-09"
    assert bars[-2].close == pytest.approx(466.9, abs=0.01)  # GOOG close on 2006-01-09
    assert bars[-1].date.isoformat() == "2006-01-10"  # an hour into the session
    tape = sim.gw.core.tapes[_goog(ib, iblib).conId]
    mark = tape.last_quote_before(int(sim.gw.sim_time))
    assert mark is not None and bars[-1].close == mark.last
    assert all(b.low <= min(b.open, b.close) <= max(b.open, b.close) <= b.high for b in bars)


def test_intraday_history_and_keep_up_to_date(sim, connect, iblib) -> None:
    ib = connect()
    open_market(sim, ib, minutes=30)
    goog = _goog(ib, iblib)
    bars = ib.reqHistoricalData(goog, "", "1 D", "1 min", "TRADES", True)
    assert len(bars) == 30
    now = datetime.fromtimestamp(sim.gw.sim_time, UTC)
    assert all(b.date.astimezone(UTC) < now for b in bars)
    live = ib.reqHistoricalData(goog, "", "1 D", "1 min", "TRADES", True, keepUpToDate=True)
    assert len(live) == 30  # all complete bars; the next one starts now
    updates: list[object] = []
    live.updateEvent += lambda bars, has_new: updates.append(has_new)
    advance(sim, live_ib := ib, 125)
    wait_until(live_ib, lambda: len(live) == 33)
    assert True in updates
    assert live[-1].date.astimezone(UTC) == datetime.fromtimestamp(GOOG_OPEN + 32 * 60, UTC)
    ib.cancelHistoricalData(live)


def test_realtime_bars_agree_with_history(sim, connect, iblib) -> None:
    ib = connect()
    open_market(sim, ib, minutes=10)
    goog = _goog(ib, iblib)
    rt = ib.reqRealTimeBars(goog, 5, "TRADES", False)
    advance(sim, ib, 60)
    wait_until(ib, lambda: len(rt) == 12)
    minute = ib.reqHistoricalData(goog, "", "1 D", "1 min", "TRADES", True)[-1]
    assert minute.date.astimezone(UTC) == rt[0].time
    assert minute.open == rt[0].open_
    assert minute.close == rt[-1].close
    assert minute.high == max(b.high for b in rt)
    assert minute.low == min(b.low for b in rt)
    assert minute.volume == sum(b.volume for b in rt)
    starts = [b.time.timestamp() for b in rt]
    assert all(int(s) % 5 == 0 for s in starts)
    assert starts == sorted(set(starts))
    ib.cancelRealTimeBars(rt)
    advance(sim, ib, 30)
    assert len(rt) == 12


def test_ticks_stream_and_snapshot(sim, connect, iblib) -> None:
    ib = connect()
    open_market(sim, ib)
    goog = _goog(ib, iblib)
    ticker = ib.reqMktData(goog)
    advance(sim, ib, 10)
    wait_until(ib, lambda: ticker.last > 0 and ticker.bid > 0)
    assert ticker.bid < ticker.last < ticker.ask
    assert ticker.ask - ticker.bid == pytest.approx(0.02)
    assert ticker.volume > 0
    snap = ib.reqMktData(iblib.Stock("ORCL", "SMART", "USD", conId=_orcl_id(ib, iblib)), "", True)
    wait_until(ib, lambda: snap.last > 0)
    assert snap.last > 0


def _orcl_id(ib, iblib) -> int:
    return ib.qualifyContracts(iblib.Stock("ORCL", "SMART", "USD"))[0].conId


def test_account_values_and_summary(sim, connect, iblib) -> None:
    ib = connect()
    values = {v.tag: v.value for v in ib.accountValues() if v.currency in ("USD", "")}
    assert float(values["NetLiquidation"]) == pytest.approx(1_000_000)
    assert float(values["TotalCashValue"]) == pytest.approx(1_000_000)
    assert float(values["BuyingPower"]) == pytest.approx(4_000_000)
    summary = {v.tag: v.value for v in ib.accountSummary()}
    assert {"NetLiquidation", "GrossPositionValue", "BuyingPower", "TotalCashValue"} <= set(summary)
    assert float(summary["NetLiquidation"]) == pytest.approx(1_000_000)


def test_current_time_is_simulated(sim, connect) -> None:
    ib = connect()
    assert ib.reqCurrentTime().timestamp() == sim.gw.sim_time


def test_daily_data_start_is_a_warm_history() -> None:
    with BackgroundGateway(sim_config(start=None, symbols=("GOOG",))) as gw:
        # a year of daily history before the default start
        assert gw.gw.sim_time - gw.gw.tapes[next(iter(gw.gw.tapes))].first_time >= 365 * 86400
