"""Historical data as HMDS serves it, through unmodified ib_async and ib_insync.

Every bar size and whatToShow, the refusals on the request's own id with TWS's codes,
head timestamp, schedule, real-time bars per series, and the bar in progress.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.simgw.conftest import advance, open_market, wait_until
from tradd.simgw.history_rules import BAR_SIZES, LEGAL_SIZES

INTRADAY = [name for name, size in BAR_SIZES.items() if size < 86_400]
TICK = 0.01
EST = -5 * 3600


def _goog(ib: Any, iblib: Any) -> Any:
    return ib.qualifyContracts(iblib.Stock("GOOG", "SMART", "USD"))[0]


def _errors(ib: Any) -> list[tuple[int, int, str]]:
    seen: list[tuple[int, int, str]] = []
    ib.errorEvent += lambda req_id, code, msg, *rest: seen.append((req_id, code, msg))
    return seen


def _refused(ib: Any, contract: Any, *args: Any, **kwargs: Any) -> tuple[int, str]:
    """Ask for bars that must be refused; the one error on the request's own id.

    ib_async treats 321 as a warning and keeps the request open (as against real TWS), so
    the call is bounded by a short library timeout; ib_insync ends it on the error."""
    seen = _errors(ib)
    bars = ib.reqHistoricalData(contract, *args, timeout=1, **kwargs)
    assert not bars
    mine = [(code, msg) for req_id, code, msg in seen if req_id > 0]
    assert len(mine) == 1, seen
    return mine[0]


def test_every_intraday_bar_size_cuts_the_same_tape(sim, connect, iblib) -> None:
    ib = connect()
    open_market(sim, ib, minutes=45)
    goog = _goog(ib, iblib)
    totals = {}
    for name in INTRADAY:
        bars = ib.reqHistoricalData(goog, "", "1800 S", name, "TRADES", True, formatDate=2)
        assert bars, name
        starts = [b.date.timestamp() for b in bars]
        assert starts == sorted(set(starts))
        assert all((s + EST) % BAR_SIZES[name] == 0 for s in starts)  # aligned in local time
        totals[name] = (sum(b.volume for b in bars), max(b.high for b in bars),
                        min(b.low for b in bars), bars[-1].close)  # fmt: skip
    assert len(set(totals.values())) == 1, totals


def test_one_second_bars_add_up_to_the_five_second_buckets(sim, connect, iblib) -> None:
    ib = connect()
    open_market(sim, ib, minutes=10)
    goog = _goog(ib, iblib)
    ones = ib.reqHistoricalData(goog, "", "60 S", "1 secs", "TRADES", True, formatDate=2)
    fives = ib.reqHistoricalData(goog, "", "60 S", "5 secs", "TRADES", True, formatDate=2)
    assert len(ones) == 60 and len(fives) == 12
    for k, five in enumerate(fives):
        part = ones[5 * k : 5 * k + 5]
        assert part[0].date == five.date
        assert (part[0].open, part[-1].close) == (five.open, five.close)
        assert max(b.high for b in part) == five.high and min(b.low for b in part) == five.low
        assert sum(b.volume for b in part) == five.volume
    assert len({b.close for b in ones}) > 1  # a path, not one price repeated


def test_daily_weekly_monthly_bars_hold_the_same_trades(sim, connect, iblib) -> None:
    ib = connect()
    open_market(sim, ib, minutes=60)
    goog = _goog(ib, iblib)
    got = {name: ib.reqHistoricalData(goog, "", "1 Y", name, "TRADES", True)
           for name in ("1 day", "1 week", "1 month")}  # fmt: skip
    days, weeks, months = got["1 day"], got["1 week"], got["1 month"]
    assert len(days) >= 240 and 50 <= len(weeks) <= 54 and 12 <= len(months) <= 13
    for coarse in (weeks, months):
        assert sum(b.volume for b in coarse) == sum(b.volume for b in days)
        assert max(b.high for b in coarse) == max(b.high for b in days)
        assert coarse[-1].close == days[-1].close
    # a week is dated by its first trading day; 2006-01-09 was a Monday
    assert weeks[-1].date.isoformat() == "2006-01-09"
    assert months[-1].date.isoformat() == "2006-01-03"  # the first session of January
    assert weeks[-1].volume == days[-1].volume + days[-2].volume


def test_bar_sizes_and_durations_tws_refuses(sim, connect, iblib) -> None:
    ib = connect()
    open_market(sim, ib, minutes=10)
    goog = _goog(ib, iblib)
    code, msg = _refused(ib, goog, "", "1 D", "7 mins", "TRADES", True)
    assert code == 321 and msg.endswith(f"Legal ones are: {LEGAL_SIZES}")
    code, msg = _refused(ib, goog, "", "400 D", "1 day", "TRADES", True)
    assert code == 321 and "must be made in years" in msg
    code, msg = _refused(ib, goog, "", "10 S", "1 secs", "TRADES", True)
    assert code == 321 and "duration is invalid" in msg
    code, msg = _refused(ib, goog, "", "1 D", "1 secs", "TRADES", True)
    assert (code, msg) == (162, "Historical Market Data Service error message:invalid step: 1")
    code, msg = _refused(ib, goog, "", "1 M", "1 min", "TRADES", True)
    assert (code, msg) == (162, "Historical Market Data Service error message:Time length "
                                "exceed max.")  # fmt: skip
    code, msg = _refused(ib, goog, "", "1 D", "1 min", "NEWS", True)
    assert code == 321 and "What to show value of NEWS rejected." in msg
    code, _ = _refused(ib, goog, "yesterday noon", "1 D", "1 min", "TRADES", True)
    assert code == 10314
    assert ib.reqHistoricalData(goog, "", "1 D", "1 min", "midpoint", True)  # any case; serving


def test_quote_series_are_the_trades_shifted_by_the_spread(sim, connect, iblib) -> None:
    ib = connect()
    open_market(sim, ib, minutes=20)
    goog = _goog(ib, iblib)
    series = {what: ib.reqHistoricalData(goog, "", "1 D", "1 min", what, True)
              for what in ("TRADES", "MIDPOINT", "BID", "ASK", "BID_ASK", "ADJUSTED_LAST")}  # fmt: skip
    trades = series["TRADES"]
    assert all(b.volume > 0 and b.barCount > 0 for b in trades)
    assert [(b.open, b.high, b.low, b.close, b.volume) for b in series["ADJUSTED_LAST"]] == [
        (b.open, b.high, b.low, b.close, b.volume) for b in trades
    ]  # no corporate actions
    for what, shift in (("MIDPOINT", 0.0), ("BID", -TICK), ("ASK", TICK)):
        quotes = series[what]
        assert [b.date for b in quotes] == [b.date for b in trades]
        for q, t in zip(quotes, trades, strict=True):
            assert (q.volume, q.average, q.barCount) == (-1, -1, -1)  # IB: no volume
            for field in ("open", "high", "low", "close"):
                assert getattr(q, field) == pytest.approx(getattr(t, field) + shift), what
    for ba, t in zip(series["BID_ASK"], trades, strict=True):
        assert ba.high == pytest.approx(t.high + TICK) and ba.low == pytest.approx(t.low - TICK)
        assert ba.close - ba.open == pytest.approx(2 * TICK)  # time-average ask - bid
        assert t.low - TICK <= ba.open <= t.high and ba.volume == -1


def test_series_the_simulator_or_ib_does_not_serve(sim, connect, iblib) -> None:
    ib = connect()
    open_market(sim, ib, minutes=20)
    goog = _goog(ib, iblib)
    code, msg = _refused(ib, goog, "", "1 Y", "1 day", "HISTORICAL_VOLATILITY", True)
    assert code == 162 and msg.endswith("No historical market data for GOOG/STK@SMART HistVol 1d")
    end = datetime(2006, 1, 9, 16, 0, tzinfo=UTC)
    code, msg = _refused(ib, goog, end, "1 M", "1 day", "ADJUSTED_LAST", True)
    assert code == 321 and msg.endswith("End date not supported with adjusted last")
    code, msg = _refused(ib, goog, "", "1 Y", "1 week", "ADJUSTED_LAST", True)
    assert code == 321 and msg.endswith("Multi day bar size not supported with adjusted last")


def test_head_timestamp_is_the_first_bar_of_the_tape(sim, connect, iblib) -> None:
    ib = connect()
    goog = _goog(ib, iblib)
    first = datetime(2004, 8, 19, 13, 30)  # GOOG's first session, 09:30 New York, in UTC
    for what in ("TRADES", "MIDPOINT", "BID_ASK"):
        assert ib.reqHeadTimeStamp(goog, what, True, 1) == first
    assert ib.reqHeadTimeStamp(goog, "TRADES", True, 2) == first.replace(tzinfo=UTC)


def test_historical_schedule_lists_sessions_in_the_exchange_zone(sim, connect, iblib) -> None:
    ib = connect()
    open_market(sim, ib, minutes=10)
    schedule = ib.reqHistoricalSchedule(_goog(ib, iblib), 3)
    assert schedule.timeZone == "US/Eastern"
    got = [(s.refDate, s.startDateTime, s.endDateTime) for s in schedule.sessions]
    assert got == [
        ("20060106", "20060106-09:30:00", "20060106-16:00:00"),
        ("20060109", "20060109-09:30:00", "20060109-16:00:00"),
        ("20060110", "20060110-09:30:00", "20060110-16:00:00"),  # today, in progress
    ]


def test_intraday_history_ending_now_ends_with_the_bar_in_progress(sim, connect, iblib) -> None:
    """TWS's newest bar is the one being built; an explicit past end gets complete bars."""
    ib = connect()
    open_market(sim, ib, minutes=30)
    advance(sim, ib, 130)  # 09:32:10: two minutes done, the third in progress
    goog = _goog(ib, iblib)
    bars = ib.reqHistoricalData(goog, "", "1 D", "1 min", "TRADES", True, formatDate=2)
    in_progress = bars[-1]
    now = sim.gw.sim_time
    assert in_progress.date.timestamp() == now - 10
    five = ib.reqHistoricalData(goog, "", "60 S", "5 secs", "TRADES", True, formatDate=2)
    assert in_progress.close == five[-1].close
    assert in_progress.volume == five[-2].volume + five[-1].volume
    before = datetime.fromtimestamp(now - 10, UTC)
    done = ib.reqHistoricalData(goog, before, "1 D", "1 min", "TRADES", True, formatDate=2)
    assert done[-1].date.timestamp() == now - 70


@pytest.mark.parametrize(("what", "shift"), [("MIDPOINT", 0.0), ("BID", -TICK), ("ASK", TICK)])
def test_realtime_bars_per_series(sim, connect, iblib, what: str, shift: float) -> None:
    ib = connect()
    open_market(sim, ib, minutes=10)
    goog = _goog(ib, iblib)
    trades = ib.reqRealTimeBars(goog, 5, "TRADES", True)
    quotes = ib.reqRealTimeBars(goog, 5, what, True)
    advance(sim, ib, 30)
    wait_until(ib, lambda: len(trades) == 6 and len(quotes) == 6)
    for q, t in zip(quotes, trades, strict=True):
        assert q.time == t.time and (q.volume, q.wap, q.count) == (-1, -1, -1)
        assert q.close == pytest.approx(t.close + shift) and q.high == pytest.approx(t.high + shift)


def test_realtime_bars_refuse_what_ib_does_not_stream(sim, connect, iblib) -> None:
    ib = connect()
    open_market(sim, ib, minutes=10)
    seen = _errors(ib)
    bars = ib.reqRealTimeBars(_goog(ib, iblib), 5, "BID_ASK", True)
    advance(sim, ib, 10)
    assert len(bars) == 0
    assert [(code, "BID_ASK rejected" in msg) for _, code, msg in seen if _ > 0] == [(321, True)]


def test_keep_up_to_date_quotes_update_as_quotes(sim, connect, iblib) -> None:
    ib = connect()
    open_market(sim, ib, minutes=10)
    goog = _goog(ib, iblib)
    trades = ib.reqHistoricalData(goog, "", "1 D", "1 min", "TRADES", True, keepUpToDate=True)
    bids = ib.reqHistoricalData(goog, "", "1 D", "1 min", "BID", True, keepUpToDate=True)
    advance(sim, ib, 90)
    wait_until(ib, lambda: len(bids) == 12 and len(trades) == 12)
    for b, t in zip(bids[-2:], trades[-2:], strict=True):
        assert b.date == t.date and b.volume == -1
        assert (b.low, b.close) == (pytest.approx(t.low - TICK), pytest.approx(t.close - TICK))
    code, msg = _refused(ib, goog, "", "60 S", "1 secs", "TRADES", True, keepUpToDate=True)
    assert code == 321 and "5 secs" in msg
