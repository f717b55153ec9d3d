"""Ticks through both client libraries: reqMktData's tick set, tick-by-tick data and
historical ticks, and how they agree with bars and with each other."""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.fixtures.simulator import SAMPLE_DATA
from tradd.simgw.background import BackgroundGateway
from tradd.simgw.daystats import day_stats

from .conftest import advance, open_market, sim_config, sync, wait_until

UNSET = 1.7976931348623157e308


def _goog(ib, iblib):
    return ib.qualifyContracts(iblib.Stock("GOOG", "SMART", "USD"))[0]


def _errors(ib) -> list[tuple[int, int, str]]:
    seen: list[tuple[int, int, str]] = []
    ib.errorEvent += lambda req_id, code, msg, *rest: seen.append((req_id, code, msg))
    return seen


def _record_tick_by_tick(ib) -> list[tuple[Any, ...]]:
    """Tick-by-tick ticks with the time on the wire (the libraries keep the receipt time)."""
    rows: list[tuple[Any, ...]] = []
    w = ib.wrapper
    last, bid_ask, mid = w.tickByTickAllLast, w.tickByTickBidAsk, w.tickByTickMidPoint

    def on_last(req_id, kind, time, price, size, *rest):
        rows.append(("last", req_id, time, price, size))
        last(req_id, kind, time, price, size, *rest)

    def on_bid_ask(req_id, time, bid, ask, bid_size, ask_size, *rest):
        rows.append(("bidask", req_id, time, bid, ask, bid_size, ask_size))
        bid_ask(req_id, time, bid, ask, bid_size, ask_size, *rest)

    def on_mid(req_id, time, price):
        rows.append(("mid", req_id, time, price))
        mid(req_id, time, price)

    w.tickByTickAllLast, w.tickByTickBidAsk, w.tickByTickMidPoint = on_last, on_bid_ask, on_mid
    return rows


def test_ticker_carries_the_day_so_far_on_subscribe(sim, connect, iblib) -> None:
    ib = connect()
    open_market(sim, ib, minutes=30)
    goog = _goog(ib, iblib)
    minutes = ib.reqHistoricalData(goog, "", "1 D", "1 min", "TRADES", True)
    days = ib.reqHistoricalData(goog, "", "5 D", "1 day", "TRADES", True)
    ticker = ib.reqMktData(goog)
    sync(ib)
    assert ticker.open == minutes[0].open
    assert ticker.high == max(b.high for b in minutes)
    assert ticker.low == min(b.low for b in minutes)
    # the previous session's close (ending now, the last daily bar is today's, in progress)
    assert days[-1].date == minutes[0].date.date()
    assert ticker.close == days[-2].close
    assert ticker.volume == sum(b.volume for b in minutes) // 100  # US stocks: round lots
    assert ticker.last == minutes[-1].close
    assert ticker.bid == pytest.approx(ticker.last - 0.01)
    assert ticker.ask == pytest.approx(ticker.last + 0.01)
    assert ticker.bidSize > 0 and ticker.askSize > 0 and ticker.lastSize > 0


def test_before_the_open_close_is_the_last_session_close(sim, connect, iblib) -> None:
    ib = connect()  # 2006-01-10, before GOOG's session
    goog = _goog(ib, iblib)
    ticker = ib.reqMktData(goog)
    sync(ib)
    assert ticker.close == pytest.approx(466.9, abs=0.01)  # GOOG close on 2006-01-09
    assert ticker.last == ticker.close
    open_market(sim, ib, minutes=1)
    assert ticker.close == pytest.approx(466.9, abs=0.01)  # still the prior close once open
    assert ticker.open != ticker.close


def test_ticker_streams_day_volume_high_and_low(sim, connect, iblib) -> None:
    ib = connect()
    open_market(sim, ib, minutes=30)
    goog = _goog(ib, iblib)
    ticker = ib.reqMktData(goog)
    advance(sim, ib, 300)
    minutes = ib.reqHistoricalData(goog, "", "1 D", "1 min", "TRADES", True)
    assert len(minutes) == 35
    assert ticker.volume == sum(b.volume for b in minutes) // 100
    assert ticker.high == max(b.high for b in minutes)
    assert ticker.low == min(b.low for b in minutes)
    assert ticker.open == minutes[0].open
    assert ticker.last == minutes[-1].close


def test_snapshot_has_ohlc_and_ends(sim, connect, iblib) -> None:
    ib = connect()
    open_market(sim, ib, minutes=10)
    orcl = ib.qualifyContracts(iblib.Stock("ORCL", "SMART", "USD"))[0]
    days = ib.reqHistoricalData(orcl, "", "5 D", "1 day", "TRADES", True)
    snap = ib.reqMktData(orcl, "", True)
    wait_until(ib, lambda: snap.close == snap.close and snap.open == snap.open)
    assert snap.close == days[-2].close  # days[-1] is today, in progress
    assert snap.low <= snap.last <= snap.high
    assert snap.volume > 0


def test_unknown_generic_tick_is_refused_with_the_legal_list(sim, connect, iblib) -> None:
    ib = connect()
    errors = _errors(ib)
    goog = _goog(ib, iblib)
    ticker = ib.reqMktData(goog, "1000")
    sync(ib)
    [(req_id, _, msg)] = [e for e in errors if e[1] == 321]
    assert req_id > 0
    assert msg.startswith(
        "Error validating request.-'bQ' : cause - Incorrect generic tick list of 1000.  "
        "Legal ones for (STK) are: 100(Option Volume),101(Option Open Interest),"
    )
    assert "233(RTVolume)" in msg
    assert ticker.last != ticker.last  # nothing was streamed


def test_snapshot_with_generic_ticks_is_refused(sim, connect, iblib) -> None:
    ib = connect()
    errors = _errors(ib)
    ib.reqMktData(_goog(ib, iblib), "233", True)
    sync(ib)
    assert [c for _, c, m in errors if "Snapshot" in m] == [321]


def test_rt_volume_generic_tick(sim, connect, iblib) -> None:
    ib = connect()
    open_market(sim, ib, minutes=20)
    goog = _goog(ib, iblib)
    ticker = ib.reqMktData(goog, "233")
    advance(sim, ib, 30)
    assert ticker.rtVolume == ticker.volume
    assert ticker.low <= ticker.vwap <= ticker.high
    assert ticker.rtTime is not None


def test_tick_by_tick_trades_aggregate_to_realtime_bars(sim, connect, iblib) -> None:
    ib = connect()
    open_market(sim, ib, minutes=10)
    goog = _goog(ib, iblib)
    rows = _record_tick_by_tick(ib)
    bars = ib.reqRealTimeBars(goog, 5, "TRADES", False)
    ticker = ib.reqTickByTickData(goog, "AllLast")
    advance(sim, ib, 60)
    wait_until(ib, lambda: len(bars) == 12)
    trades = [r for r in rows if r[0] == "last"]
    for bar in bars:
        start = int(bar.time.timestamp())
        inside = [r for r in trades if start <= r[2] < start + 5]
        assert inside[0][3] == bar.open_
        assert inside[-1][3] == bar.close
        assert max(r[3] for r in inside) == bar.high
        assert min(r[3] for r in inside) == bar.low
        assert sum(r[4] for r in inside) == bar.volume
    assert ticker.last == bars[-1].close
    ib.cancelTickByTickData(ticker.contract, "AllLast")
    advance(sim, ib, 10)
    assert len([r for r in rows if r[0] == "last"]) == len(trades)


def test_tick_by_tick_quotes_and_midpoints(sim, connect, iblib) -> None:
    ib = connect()
    open_market(sim, ib, minutes=10)
    goog = _goog(ib, iblib)
    rows = _record_tick_by_tick(ib)
    top = ib.reqMktData(goog)
    ib.reqTickByTickData(goog, "BidAsk")
    ib.reqTickByTickData(goog, "MidPoint")
    ib.reqTickByTickData(goog, "Last")
    advance(sim, ib, 30)
    quotes = [r for r in rows if r[0] == "bidask"]
    mids = [r for r in rows if r[0] == "mid"]
    trades = [r for r in rows if r[0] == "last"]
    assert len(quotes) == len(mids) == 24  # four per bucket
    assert all(q[4] - q[3] == pytest.approx(0.02) for q in quotes)
    assert [m[3] for m in mids] == pytest.approx([(q[3] + q[4]) / 2 for q in quotes])
    assert {t[2] for t in trades} <= {m[2] for m in mids}
    assert (quotes[-1][3], quotes[-1][4]) == (top.bid, top.ask)


def test_tick_by_tick_backlog_and_limit(sim, connect, iblib) -> None:
    ib = connect()
    errors = _errors(ib)
    open_market(sim, ib, minutes=10)
    goog = _goog(ib, iblib)
    backlog: list[Any] = []
    historical_last = ib.wrapper.historicalTicksLast

    def on_historical_last(req_id, ticks, done):
        backlog.append((req_id, ticks, done))
        historical_last(req_id, ticks, done)

    ib.wrapper.historicalTicksLast = on_historical_last
    ticker = ib.reqTickByTickData(goog, "Last", numberOfTicks=10)
    sync(ib)
    # IB answers the backlog as historicalTicksLast on the tick-by-tick request's id
    [(req_id, ticks, done)] = backlog
    assert done and ib.wrapper.reqId2Ticker[req_id] is ticker
    now = datetime.fromtimestamp(sim.gw.sim_time, UTC)
    history = ib.reqHistoricalTicks(goog, "", now, 10, "TRADES", True)
    assert [(t.time, t.price, t.size) for t in ticks] == [
        (t.time, t.price, t.size) for t in history
    ]
    assert len(history) == 10
    ib.reqTickByTickData(goog, "BidAsk")
    ib.reqTickByTickData(goog, "MidPoint")
    ib.reqTickByTickData(goog, "AllLast")  # a fourth: over IB's minimum allowance of 3
    sync(ib)
    assert [c for _, c, _ in errors if c == 10190] == [10190]


def test_historical_ticks_are_the_live_ticks(sim, connect, iblib) -> None:
    ib = connect()
    open_market(sim, ib, minutes=10)
    goog = _goog(ib, iblib)
    start = datetime.fromtimestamp(sim.gw.sim_time, UTC)
    rows = _record_tick_by_tick(ib)
    ib.reqTickByTickData(goog, "AllLast")
    ib.reqTickByTickData(goog, "BidAsk")
    advance(sim, ib, 120)
    live_trades = [(r[2], r[3], r[4]) for r in rows if r[0] == "last"]
    live_quotes = [(r[2], r[3], r[4], r[5], r[6]) for r in rows if r[0] == "bidask"]
    trades = ib.reqHistoricalTicks(goog, start, "", 1000, "TRADES", True)
    quotes = ib.reqHistoricalTicks(goog, start, "", 1000, "BID_ASK", True)
    mids = ib.reqHistoricalTicks(goog, start, "", 1000, "MIDPOINT", True)
    assert [(int(t.time.timestamp()), t.price, t.size) for t in trades] == live_trades
    assert [
        (int(q.time.timestamp()), q.priceBid, q.priceAsk, q.sizeBid, q.sizeAsk) for q in quotes
    ] == live_quotes
    assert [m.price for m in mids] == pytest.approx([(q[1] + q[2]) / 2 for q in live_quotes])
    assert len(trades) == 96  # 24 buckets, four trades each


def test_historical_ticks_count_end_and_ignore_size(sim, connect, iblib) -> None:
    ib = connect()
    open_market(sim, ib, minutes=10)
    goog = _goog(ib, iblib)
    now = datetime.fromtimestamp(sim.gw.sim_time, UTC)
    last10 = ib.reqHistoricalTicks(goog, "", now, 10, "TRADES", True)
    assert len(last10) == 10
    assert all(t.time < now for t in last10)
    assert [t.time for t in last10] == sorted(t.time for t in last10)
    first5 = ib.reqHistoricalTicks(goog, now - timedelta(minutes=5), "", 5, "MIDPOINT", True)
    assert len(first5) == 5 and first5[0].time >= now - timedelta(minutes=5)
    everything = ib.reqHistoricalTicks(goog, "", now, 1000, "BID_ASK", True)
    changes = ib.reqHistoricalTicks(goog, "", now, 1000, "BID_ASK", True, ignoreSize=True)
    pairs = [(q.priceBid, q.priceAsk) for q in changes]
    assert all(a != b for a, b in itertools.pairwise(pairs))
    assert len(everything) == 480  # the session so far (120 buckets): one session per request
    assert everything[0].time == now - timedelta(minutes=10)
    assert 0 < len(changes) < len(everything)
    assert changes[-1].time <= everything[-1].time


@pytest.mark.parametrize(
    ("start", "end", "count", "what", "code"),
    [
        ("20060110 10:00:00 US/Eastern", "20060110 10:05:00 US/Eastern", 10, "TRADES", 162),
        ("", "", 10, "TRADES", 162),
        ("", "20060110 10:05:00 US/Eastern", 1001, "TRADES", 162),
        ("", "20060110 10:05:00 US/Eastern", 10, "BID", 162),
        ("", "20060110 99:05:00", 10, "TRADES", 162),
    ],
)
def test_historical_ticks_refusals(sim, connect, iblib, start, end, count, what, code) -> None:
    ib = connect()
    errors = _errors(ib)
    open_market(sim, ib, minutes=40)
    goog = _goog(ib, iblib)
    result = ib.reqHistoricalTicks(goog, start, end, count, what, True)
    assert not result
    [(req_id, got, msg)] = errors
    assert got == code and req_id > 0
    assert msg.startswith("Historical Market Data Service error message:")
    assert ib.reqCurrentTime()  # the gateway keeps serving


@pytest.fixture
def forex_sim(tmp_path):
    """A data directory with one currency pair (GOOG's days scaled to EUR.USD levels)."""
    source = (SAMPLE_DATA / "GOOG.1d.csv").read_text().splitlines()
    rows = [source[0]]
    for line in source[1:]:
        day, *prices, volume = line.split(",")
        rows.append(",".join([day, *(f"{float(p) / 400:.5f}" for p in prices), volume]))
    (tmp_path / "EURUSD.1d.csv").write_text("\n".join(rows) + "\n")
    with BackgroundGateway(sim_config(data_dir=tmp_path, symbols=("EURUSD",))) as gateway:
        yield gateway


def test_forex_ticks_are_idealpro_quotes(forex_sim, iblib) -> None:
    ib = iblib.IB()
    ib.connect("127.0.0.1", forex_sim.port, clientId=1, timeout=4)
    try:
        errors = _errors(ib)
        open_market(forex_sim, ib, minutes=10)
        eurusd = ib.qualifyContracts(iblib.Forex("EURUSD"))[0]
        rows = _record_tick_by_tick(ib)
        ticker = ib.reqMktData(eurusd)
        ib.reqTickByTickData(eurusd, "AllLast")
        ib.reqTickByTickData(eurusd, "BidAsk")
        advance(forex_sim, ib, 30)
        assert ticker.bid > 0 and ticker.ask - ticker.bid == pytest.approx(0.0001)
        assert ticker.bidSize == ticker.askSize == 1_000_000
        assert ticker.low <= ticker.bid + 0.00005 <= ticker.high
        assert ticker.close > 0
        assert math.isnan(ticker.last) and math.isnan(ticker.volume) and math.isnan(ticker.open)
        assert [r[0] for r in rows] and {r[0] for r in rows} == {"bidask"}
        now = datetime.fromtimestamp(forex_sim.gw.sim_time, UTC)
        mids = ib.reqHistoricalTicks(eurusd, "", now, 5, "MIDPOINT", True)
        assert len(mids) == 5
        assert not ib.reqHistoricalTicks(eurusd, "", now, 5, "TRADES", True)
        assert [c for _, c, _ in errors] == [162]
    finally:
        ib.disconnect()


def test_day_stats_running_equal_from_scratch(sim) -> None:
    """The per-bucket running stats of an intraday session equal a fresh computation."""

    def check() -> None:
        tape = next(t for t in sim.gw.tapes.values() if t.instrument.data_symbol == "IDXFUT")
        first = int(tape.starts[0])
        day_start = next(
            int(s) for s in tape.starts if tape.days[tape.bar_index(int(s))] != tape.days[0]
        )
        quote = tape.quote(day_start)
        running = day_stats(tape, quote)
        t = day_start
        for _ in range(2000):  # several hours of buckets, gaps included
            t += 5
            nxt = tape.quote(t)
            if nxt is not None and tape.same_session(day_start, t):
                running, quote = running.after(tape, nxt), nxt
        fresh = day_stats(tape, quote, with_notional=True)
        assert first < day_start and running.day == fresh.day
        assert (running.open, running.high, running.low, running.volume, running.prev_close) == (
            fresh.open,
            fresh.high,
            fresh.low,
            fresh.volume,
            fresh.prev_close,
        )
        assert running.notional == pytest.approx(fresh.notional)
        assert day_stats(tape, quote).notional is None  # the VWAP is only worked out on demand

    sim.call(check)
