"""Unit tests of the simulator's parts, each on its own: no sockets, no sleeps.

Clocks are injected (a fake monotonic), market data is the shipped sample data.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import struct
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from tests.conftest import SAMPLE_DATA
from tradd.errors import DataError
from tradd.marketdata.bars import Bars
from tradd.marketdata.contracts import load_definitions
from tradd.marketdata.store import DataStore
from tradd.simgw import history
from tradd.simgw.account import AccountState, Position, Valuation, ib_commission
from tradd.simgw.contracts import ContractBook, ContractQuery, instrument_for, stable_con_id
from tradd.simgw.history import DAY, HistoryRequestError
from tradd.simgw.matching import bucket_fill_price, immediate_fill_price
from tradd.simgw.orders import Execution, SimOrder, parse_place_order
from tradd.simgw.pacing import VIOLATION, Pacing
from tradd.simgw.replay import MAX_SLICE, SPIN, ReplayLoop, SimClock
from tradd.simgw.state import SimState, load_state, save_state
from tradd.simgw.tape import BUCKET, Quote, Tape
from tradd.simgw.wire import (
    MAX_FRAME,
    FrameReader,
    Hello,
    ProtocolError,
    encode,
    parse_hello,
)

EASTERN = ZoneInfo("US/Eastern")
TICK = 0.01


def et(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> int:
    """Epoch seconds of a US/Eastern wall-clock time."""
    return int(datetime(year, month, day, hour, minute, second, tzinfo=EASTERN).timestamp())


class FakeMonotonic:
    """A monotonic clock the test moves by hand."""

    def __init__(self, t: float = 1_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture(scope="module")
def goog_bars() -> Bars:
    return DataStore(SAMPLE_DATA).load("GOOG", "1d")


@pytest.fixture(scope="module")
def fut_bars() -> Bars:
    return DataStore(SAMPLE_DATA).load("IDXFUT", "1m")


@pytest.fixture
def goog(goog_bars: Bars) -> Tape:
    return Tape(instrument_for("GOOG"), goog_bars, seed=0)


@pytest.fixture
def fut(fut_bars: Bars) -> Tape:
    """The sample future's definition moved to US/Eastern: its 09:00-22:00 session then
    crosses midnight UTC, which is what the session arithmetic below is about. The real
    MET definition is tested in test_contracts.py."""
    spec = load_definitions(SAMPLE_DATA).spec("IDXFUT")
    eastern = spec.model_copy(update={"time_zone": "US/Eastern"})
    return Tape(instrument_for("IDXFUT", eastern), fut_bars, seed=0)


def day_index(bars: Bars, day: str) -> int:
    i = int(np.searchsorted(bars.time, np.datetime64(day)))
    assert str(bars.time[i])[:10] == day
    return i


def on_grid(values: np.ndarray, tick: float = TICK) -> bool:
    steps = np.asarray(values) / tick
    return bool(np.all(np.abs(steps - np.round(steps)) < 1e-6))


# ---- wire ------------------------------------------------------------------------------------


def hello_bytes(text: bytes) -> bytes:
    return b"API\0" + struct.pack(">I", len(text)) + text


def test_encode_formats_fields_as_tws_does() -> None:
    frame = encode(["abc", 17, 2.5, None, True, False, ""])
    payload = b"abc\x0017\x002.5\x00\x001\x000\x00\x00"
    assert frame == struct.pack(">I", len(payload)) + payload
    assert FrameReader(expect_hello=False).feed(frame) == [["abc", "17", "2.5", "", "1", "0", ""]]


def test_frames_split_at_every_byte_boundary_decode_the_same() -> None:
    messages = [["1", "2", "GOOG", "", "3.25"], [], ["49", "1", "1136903400"], ["", "", "x"]]
    stream = hello_bytes(b"v157..176 +PACEAPI") + b"".join(encode(m) for m in messages)
    whole = FrameReader()
    assert whole.feed(stream) == messages

    reader = FrameReader()
    got: list[list[str]] = []
    for k in range(len(stream)):
        got += reader.feed(stream[k : k + 1])
    assert got == messages
    assert reader.hello == Hello(157, 176, "+PACEAPI")
    assert reader.pending == 0

    # every two-piece split of the stream decodes the same
    for cut in range(len(stream) + 1):
        r = FrameReader()
        assert r.feed(stream[:cut]) + r.feed(stream[cut:]) == messages


def test_hello_parsing() -> None:
    assert parse_hello(b"v157..176") == Hello(157, 176, "")
    assert parse_hello(b"v157..178 +PACEAPI") == Hello(157, 178, "+PACEAPI")
    assert parse_hello(b"v176") == Hello(176, 176, "")
    for bad in (b"157..176", b"vabc..176", b"v157..x", b"\xff\xfe"):
        with pytest.raises(ProtocolError):
            parse_hello(bad)


def test_hello_from_the_connection_prefix() -> None:
    reader = FrameReader()
    assert reader.feed(hello_bytes(b"v157..178 +PACEAPI")) == []
    assert reader.hello == Hello(157, 178, "+PACEAPI")


def test_negotiate_picks_min_of_client_max_and_ours() -> None:
    assert Hello(157, 178, "").negotiate() == 176
    assert Hello(157, 176, "").negotiate() == 176
    assert Hello(100, 170, "").negotiate() == 170
    assert Hello(157, 157, "").negotiate() == 157
    for lo, hi in ((100, 156), (177, 180)):
        with pytest.raises(ProtocolError):
            Hello(lo, hi, "").negotiate()


def test_frame_larger_than_max_frame_is_refused_before_its_payload() -> None:
    reader = FrameReader(expect_hello=False)
    assert reader.feed(struct.pack(">I", MAX_FRAME)) == []  # at the limit: wait for it
    with pytest.raises(ProtocolError):
        FrameReader(expect_hello=False).feed(struct.pack(">I", MAX_FRAME + 1))
    with pytest.raises(ProtocolError):
        FrameReader().feed(b"API\0" + struct.pack(">I", MAX_FRAME + 1))


def test_non_utf8_payload_decodes_with_replacement_characters() -> None:
    payload = b"1\x00\xff\xfeok\x00"
    fields = FrameReader(expect_hello=False).feed(struct.pack(">I", len(payload)) + payload)
    assert fields == [["1", "\ufffd\ufffdok"]]


def test_connection_not_starting_with_api_prefix_is_refused() -> None:
    with pytest.raises(ProtocolError):
        FrameReader().feed(b"GET / HTTP/1.1\r\n\r\n")
    reader = FrameReader()
    assert reader.feed(b"AP") == []  # too short to judge yet
    with pytest.raises(ProtocolError):
        reader.feed(b"X\0")


# ---- tape ------------------------------------------------------------------------------------


def assert_aggregates_to_source(tape: Tape, i: int) -> None:
    bars, b = tape.bars, tape.buckets(i)
    seconds = int(tape.ends[i] - tape.starts[i])
    assert len(b) == seconds // BUCKET
    assert b.start == tape.starts[i]
    assert b.open[0] == bars.open[i]
    assert b.close[-1] == bars.close[i]
    assert b.high.max() == bars.high[i]
    assert b.low.min() == bars.low[i]
    assert int(b.volume.sum()) == round(float(bars.volume[i]))
    assert np.all(b.volume >= 0)
    assert np.all(b.high >= np.maximum(b.open, b.close))
    assert np.all(b.low <= np.minimum(b.open, b.close))
    assert np.all(b.low >= bars.low[i]) and np.all(b.high <= bars.high[i])


def test_daily_buckets_aggregate_exactly_to_the_source_bar(goog: Tape) -> None:
    bars = goog.bars
    picks = [0, 1, day_index(bars, "2006-01-10"), len(bars) // 2, len(bars) - 1]
    widest = int(np.argmax((bars.high - bars.low) / bars.close))
    for i in [*picks, widest]:
        assert_aggregates_to_source(goog, i)
        assert len(goog.buckets(i)) == 6 * 3600 // 5 + 360  # 09:30-16:00: 4680


def test_minute_buckets_aggregate_exactly_to_the_source_bar(fut: Tape) -> None:
    bars = fut.bars
    flat = int(np.flatnonzero(bars.high == bars.low)[0])
    widest = int(np.argmax(bars.high - bars.low))
    for i in [0, 1, 500, 12_345, len(bars) - 1, flat, widest]:
        assert_aggregates_to_source(fut, i)
        assert len(fut.buckets(i)) == 12


def test_bucket_prices_are_on_the_tick_grid(goog: Tape, fut: Tape) -> None:
    for tape, picks in ((goog, [0, 351, 2000]), (fut, [3, 700, 20_000])):
        for i in picks:
            src = [tape.bars.open[i], tape.bars.high[i], tape.bars.low[i], tape.bars.close[i]]
            assert on_grid(np.array(src))
            b = tape.buckets(i)
            for arr in (b.open, b.high, b.low, b.close):
                assert on_grid(arr), (i, arr[~np.isclose(arr / TICK, np.round(arr / TICK))])


def test_same_seed_same_path_other_seed_other_path(goog_bars: Bars) -> None:
    inst = instrument_for("GOOG")
    i = day_index(goog_bars, "2006-01-10")
    a, b, c = (Tape(inst, goog_bars, s).buckets(i) for s in (7, 7, 8))
    for name in ("open", "high", "low", "close", "volume"):
        assert np.array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.close, c.close)
    assert not np.array_equal(a.volume, c.volume)
    assert (c.open[0], c.close[-1], c.high.max(), c.low.min()) == (
        a.open[0],
        a.close[-1],
        a.high.max(),
        a.low.min(),
    )
    assert c.volume.sum() == a.volume.sum()


def test_path_does_not_depend_on_access_order(goog_bars: Bars) -> None:
    inst = instrument_for("GOOG")
    i = day_index(goog_bars, "2006-01-10")
    first = Tape(inst, goog_bars, 3).buckets(i).close.copy()
    walked = Tape(inst, goog_bars, 3)
    for j in range(i - 20, i):  # evicts i from the cache if it were there
        walked.buckets(j)
    assert np.array_equal(walked.buckets(i).close, first)
    for j in range(i + 1, i + 20):
        walked.buckets(j)
    assert np.array_equal(walked.buckets(i).close, first)


def test_daily_tape_session_edges(goog: Tape) -> None:
    i = day_index(goog.bars, "2006-01-10")
    opens, closes = et(2006, 1, 10, 9, 30), et(2006, 1, 10, 16, 0)
    assert goog.starts[i] == opens and goog.ends[i] == closes
    assert goog.bar_index(opens - 5) is None
    assert goog.quote(opens - 5) is None
    assert goog.bar_index(opens) == i
    assert goog.bar_index(closes - 1) == i
    assert goog.bar_index(closes) is None
    assert goog.quote(closes) is None
    assert goog.bar_index(et(2006, 1, 14, 12, 0)) is None  # Saturday

    first = goog.quote(opens)
    assert first is not None
    assert first.bucket_start == opens
    assert first.open == goog.bars.open[i]
    assert first.bid == pytest.approx(first.last - TICK)
    assert first.ask == pytest.approx(first.last + TICK)
    last = goog.quote(closes - BUCKET)
    assert last is not None and last.last == goog.bars.close[i]

    assert goog.next_open(opens - 3600) == opens
    assert goog.next_open(opens) == opens
    assert goog.next_open(closes) == et(2006, 1, 11, 9, 30)
    assert goog.next_open(et(2006, 1, 13, 17, 0)) == et(2006, 1, 17, 9, 30)  # MLK day off
    assert goog.next_open(goog.last_time) is None


def test_last_quote_before_marks_at_the_latest_completed_bucket(goog: Tape) -> None:
    i = day_index(goog.bars, "2006-01-10")
    opens = et(2006, 1, 10, 9, 30)
    after = goog.last_quote_before(et(2006, 1, 10, 20, 0))
    assert after is not None and after.last == goog.bars.close[i]
    at_open = goog.last_quote_before(et(2006, 1, 11, 9, 30))
    assert at_open is not None and at_open.last == goog.bars.close[i]
    inside = goog.last_quote_before(opens + 7)
    assert inside is not None and inside.bucket_start == opens
    assert goog.last_quote_before(goog.first_time) is None


def test_minute_tape_session_edges(fut: Tape) -> None:
    first = et(2006, 1, 2, 9, 1)
    assert fut.first_time == first
    assert fut.bar_index(first - 1) is None
    assert fut.quote(first - BUCKET) is None
    assert fut.bar_index(first) == 0
    q = fut.quote(first + 55)
    assert q is not None and q.last == fut.bars.close[0]
    assert fut.bar_index(fut.last_time) is None
    assert fut.quote(fut.last_time) is None


# ---- history ---------------------------------------------------------------------------------


def test_bar_seconds() -> None:
    assert history.bar_seconds("5 secs") == 5
    assert history.bar_seconds("1 min") == 60
    assert history.bar_seconds("5  mins") == 300
    assert history.bar_seconds("1 hour") == 3600
    assert history.bar_seconds("1 day") == DAY
    for bad in ("7 mins", "1 minute", "", "1min"):
        with pytest.raises(HistoryRequestError) as info:
            history.bar_seconds(bad)
        assert info.value.code == 321


def test_parse_duration() -> None:
    assert history.parse_duration("2 D") == (2, "D")
    assert history.parse_duration(" 3600 S ") == (3600, "S")
    assert history.parse_duration("1 Y") == (1, "Y")
    for bad in ("0 D", "2", "D", "2 X", "-1 D", "1.5 D"):
        with pytest.raises(HistoryRequestError) as info:
            history.parse_duration(bad)
        assert info.value.code == 321


def test_parse_end() -> None:
    now = et(2006, 1, 10, 12, 0)
    ten = et(2006, 1, 10, 10, 0)
    tz = "US/Eastern"
    assert history.parse_end("", now, tz) == now
    assert history.parse_end("  ", now, tz) == now
    assert history.parse_end("20060110 10:00:00", now, tz) == ten
    assert history.parse_end("20060110-15:00:00", now, tz) == ten  # UTC
    assert history.parse_end("20060110 10:00:00 US/Eastern", now, tz) == ten
    assert history.parse_end("20060110 15:00:00 UTC", now, tz) == ten
    assert history.parse_end("20060110 10:00:00", now, "Europe/London") == et(2006, 1, 10, 5)
    for bad in ("yesterday", "2006-01-10 10:00:00", "20060110", "20060110 10:00:00 Nowhere/X"):
        with pytest.raises(HistoryRequestError) as info:
            history.parse_end(bad, now, tz)
        assert info.value.code == 321


def test_parse_end_never_reaches_past_now() -> None:
    """No peeking at the future, whichever way the end time is written."""
    now = et(2006, 1, 10, 9, 45)
    tz = "US/Eastern"
    assert history.parse_end("20060110 10:00:00", now, tz) == now
    assert history.parse_end("20060110 10:00:00 US/Eastern", now, tz) == now
    assert history.parse_end("20060110-15:00:00", now, tz) == now


def test_range_start_counts_trading_sessions(goog: Tape) -> None:
    close_10th = et(2006, 1, 10, 16, 0)
    assert history.range_start(goog, close_10th, "1 D") == et(2006, 1, 10, 9, 30)
    assert history.range_start(goog, close_10th, "2 D") == et(2006, 1, 9, 9, 30)
    # Monday's two sessions reach back over the weekend to Friday
    assert history.range_start(goog, et(2006, 1, 9, 16, 0), "2 D") == et(2006, 1, 6, 9, 30)
    # after the close, "1 D" is the session that just ended
    assert history.range_start(goog, et(2006, 1, 10, 20, 0), "1 D") == et(2006, 1, 10, 9, 30)
    # calendar units just subtract
    assert history.range_start(goog, close_10th, "3600 S") == close_10th - 3600
    assert history.range_start(goog, close_10th, "1 W") == close_10th - 7 * DAY
    # more sessions than the data holds: from the start of the data
    assert history.range_start(goog, close_10th, "10000 D") == goog.first_time


def test_range_start_sessions_are_exchange_days_not_utc_days(fut: Tape) -> None:
    """IDXFUT trades 09:01-22:00 US/Eastern, past midnight UTC; a session is a local day."""
    end = et(2006, 1, 10, 22, 1)
    assert history.range_start(fut, end, "1 D") == et(2006, 1, 10, 9, 1)
    assert history.range_start(fut, end, "2 D") == et(2006, 1, 9, 9, 1)
    assert history.range_start(fut, et(2006, 1, 10, 12, 0), "1 D") == et(2006, 1, 10, 9, 1)


@pytest.mark.parametrize("size", [5, 60, 300, 1800, 3600])
def test_bars_between_never_returns_bars_ending_after_end(fut: Tape, size: int) -> None:
    start = et(2006, 1, 10, 9, 0)
    ends = (
        et(2006, 1, 10, 10, 2, 30),
        et(2006, 1, 10, 10, 2, 33),  # inside a bucket: that bucket has not completed
        et(2006, 1, 10, 10, 5),
        et(2006, 1, 10, 11, 7, 55),
    )
    for end in ends:
        done = history.bars_between(fut, size, start, end)
        assert done, (size, end)
        assert all(b.start + size <= end for b in done)
        with_partial = history.bars_between(fut, size, start, end, partial=True)
        assert with_partial[: len(done)] == done
        assert len(with_partial) - len(done) in (0, 1)
        assert all(b.start < end for b in with_partial)
        if len(with_partial) > len(done):
            assert with_partial[-1].start + size > end
        # the partial bar holds exactly the buckets completed by ``end``
        for b in with_partial[len(done) :]:
            completed = range(b.start, end - BUCKET + 1, BUCKET)
            upto = [q for q in (fut.quote(t) for t in completed) if q]
            assert b.close == upto[-1].last
            assert b.volume == sum(q.volume for q in upto)


def test_daily_bars_between_stop_at_the_last_completed_session(goog: Tape) -> None:
    start, noon = et(2006, 1, 3), et(2006, 1, 10, 12, 0)
    done = history.bars_between(goog, DAY, start, noon)
    assert [b.start for b in done][-1] == et(2006, 1, 9)
    live = history.bars_between(goog, DAY, start, noon, partial=True)
    assert live[:-1] == done
    today = live[-1]
    assert today.start == et(2006, 1, 10)
    mark = goog.last_quote_before(noon)
    assert mark is not None
    assert today.close == mark.last
    i = day_index(goog.bars, "2006-01-10")
    b = goog.buckets(i)
    k = (noon - b.start) // BUCKET
    assert today.open == goog.bars.open[i]
    assert today.high == b.high[:k].max()
    assert today.low == b.low[:k].min()
    assert today.volume == int(b.volume[:k].sum())


def test_minute_bars_from_minute_tape_equal_the_source(fut: Tape) -> None:
    start, end = et(2006, 1, 10, 9, 0), et(2006, 1, 10, 12, 0)
    got = history.bars_between(fut, 60, start, end)
    rows = np.flatnonzero((fut.starts >= start) & (fut.ends <= end))
    assert len(got) == len(rows) > 100
    src = fut.bars
    for b, i in zip(got, rows, strict=True):
        assert b.start == fut.starts[i]
        assert_is_source_bar(b, src, int(i))


def assert_is_source_bar(b: history.HistBar, src: Bars, i: int) -> None:
    assert (b.open, b.high, b.low, b.close) == (src.open[i], src.high[i], src.low[i], src.close[i])
    assert b.volume == round(float(src.volume[i]))


def test_five_minute_bars_aggregate_minute_source(fut: Tape) -> None:
    start, end = et(2006, 1, 10, 9, 0), et(2006, 1, 10, 14, 0)
    got = history.bars_between(fut, 300, start, end)
    rows = np.flatnonzero((fut.starts >= start) & (fut.ends <= end))
    src = fut.bars
    groups: dict[int, list[int]] = {}
    for i in rows:
        groups.setdefault(int(fut.starts[i]) // 300 * 300, []).append(int(i))
    assert [b.start for b in got] == sorted(groups)
    for b in got:
        idx = groups[b.start]
        assert b.open == src.open[idx[0]]
        assert b.close == src.close[idx[-1]]
        assert b.high == src.high[idx].max()
        assert b.low == src.low[idx].min()
        volume = int(sum(round(float(src.volume[i])) for i in idx))
        assert b.volume == volume
        assert b.count == len(idx)
        wap = sum(float(src.close[i]) * round(float(src.volume[i])) for i in idx) / volume
        assert b.wap == pytest.approx(wap, abs=1e-6)


def test_daily_bars_from_daily_tape_equal_the_source(goog: Tape) -> None:
    got = history.bars_between(goog, DAY, et(2006, 1, 1), et(2006, 2, 1))
    src = goog.bars
    lo = day_index(src, "2006-01-03")
    hi = int(np.searchsorted(src.time, np.datetime64("2006-02-01")))
    assert len(got) == hi - lo == 20
    for b, i in zip(got, range(lo, hi), strict=True):
        day = str(src.time[i])[:10]
        assert b.start == et(int(day[:4]), int(day[5:7]), int(day[8:10]))  # local midnight
        assert_is_source_bar(b, src, i)


def test_minute_bars_from_daily_tape_cover_the_session(goog: Tape) -> None:
    i = day_index(goog.bars, "2006-01-10")
    opens, closes = et(2006, 1, 10, 9, 30), et(2006, 1, 10, 16, 0)
    got = history.bars_between(goog, 60, et(2006, 1, 10), et(2006, 1, 11))
    assert len(got) == 390
    assert [b.start for b in got] == list(range(opens, closes, 60))
    src = goog.bars
    assert got[0].open == src.open[i]
    assert got[-1].close == src.close[i]
    assert max(b.high for b in got) == src.high[i]
    assert min(b.low for b in got) == src.low[i]
    assert sum(b.volume for b in got) == round(float(src.volume[i]))
    buckets = goog.buckets(i)
    for n in (0, 200, 389):  # each minute is its twelve buckets
        k = slice(n * 12, n * 12 + 12)
        assert got[n].open == buckets.open[k][0]
        assert got[n].close == buckets.close[k][-1]
        assert got[n].high == buckets.high[k].max()
        assert got[n].low == buckets.low[k].min()
        assert got[n].volume == buckets.volume[k].sum()


# ---- pacing ----------------------------------------------------------------------------------


def test_identical_request_within_15_seconds_violates() -> None:
    clock = FakeMonotonic()
    pacing = Pacing(monotonic=clock)
    assert pacing.check(("GOOG", "1 D", "1 min"), "GOOG") is None
    clock.t += 14.9
    assert pacing.check(("GOOG", "1 D", "1 min"), "GOOG") == VIOLATION
    assert pacing.check(("GOOG", "2 D", "1 min"), "GOOG") is None  # a different request
    clock.t += 0.1  # 15 s after the first
    assert pacing.check(("GOOG", "1 D", "1 min"), "GOOG") is None


def test_sixth_request_for_a_contract_within_two_seconds_violates() -> None:
    clock = FakeMonotonic()
    pacing = Pacing(monotonic=clock)
    for n in range(5):
        assert pacing.check(("GOOG", n), "GOOG") is None
        clock.t += 0.3
    assert pacing.check(("GOOG", 5), "GOOG") == VIOLATION
    assert pacing.check(("ORCL", 5), "ORCL") is None  # other contracts are not counted
    clock.t += 0.9  # first request now 2.1 s old
    assert pacing.check(("GOOG", 6), "GOOG") is None


def test_sixty_first_request_in_ten_minutes_violates() -> None:
    clock = FakeMonotonic()
    pacing = Pacing(monotonic=clock)
    first = clock.t
    for n in range(60):
        assert pacing.check(("req", n), f"C{n}") is None, n
        clock.t += 3.0
    assert clock.t - first < 600
    assert pacing.check(("req", 60), "C60") == VIOLATION
    clock.t = first + 600.5  # the first request has left the window
    assert pacing.check(("req", 61), "C61") is None
    assert pacing.check(("req", 62), "C62") == VIOLATION


def test_forced_violations_and_disabled_pacing() -> None:
    clock = FakeMonotonic()
    off = Pacing(enabled=False, monotonic=clock)
    for _ in range(100):
        assert off.check("same", "GOOG") is None
    off.forced = 2
    assert off.check("a", "GOOG") == VIOLATION
    assert off.check("b", "GOOG") == VIOLATION
    assert off.forced == 0
    assert off.check("c", "GOOG") is None

    on = Pacing(monotonic=clock)
    on.forced = 1
    assert on.check("x", "GOOG") == VIOLATION
    assert on.check("x", "GOOG") is None  # the forced one was not recorded


# ---- account ---------------------------------------------------------------------------------


def test_ib_commission() -> None:
    assert ib_commission(100, 10.0) == 1.0  # minimum
    assert ib_commission(1000, 50.0) == 5.0  # per share
    assert ib_commission(-300, 20.0) == 1.5  # sells too
    assert ib_commission(10, 5.0) == 0.5  # capped at 1% of value
    assert ib_commission(100_000, 0.5) == 500.0  # cap
    assert ib_commission(100_000, 10.0) == 500.0


def test_apply_fill_long_round_trip_through_a_short() -> None:
    acct = AccountState("DU1", 100_000.0)
    con = 42
    assert acct.apply_fill(con, 100, 10.0, 1.0) == 0.0  # open long
    assert acct.positions[con].quantity == 100
    assert acct.positions[con].avg_cost == pytest.approx(10.01)  # includes the commission
    assert acct.cash == pytest.approx(98_999.0)

    assert acct.apply_fill(con, 100, 12.0, 1.0) == 0.0  # add
    assert acct.positions[con].quantity == 200
    assert acct.positions[con].avg_cost == pytest.approx(11.01)
    assert acct.cash == pytest.approx(97_798.0)

    assert acct.apply_fill(con, -50, 13.0, 1.0) == pytest.approx(98.5)  # partial close
    assert acct.positions[con].quantity == 150
    assert acct.positions[con].avg_cost == pytest.approx(11.01)  # unchanged by a close
    assert acct.cash == pytest.approx(98_447.0)

    assert acct.apply_fill(con, -200, 9.0, 1.0) == pytest.approx(-302.5)  # flip
    assert acct.positions[con].quantity == -50
    assert acct.positions[con].avg_cost == pytest.approx(9.0)
    assert acct.cash == pytest.approx(100_246.0)

    assert acct.apply_fill(con, 50, 8.0, 1.0) == pytest.approx(49.0)  # cover
    assert con not in acct.positions
    assert acct.cash == pytest.approx(99_845.0)
    assert acct.realized_pnl == pytest.approx(98.5 - 302.5 + 49.0)
    assert acct.commissions == pytest.approx(5.0)
    # everything closed: realized P&L is the whole change in cash
    assert acct.realized_pnl == pytest.approx(acct.cash - 100_000.0)


def test_apply_fill_short_open_and_cover() -> None:
    acct = AccountState("DU1", 50_000.0)
    assert acct.apply_fill(7, -100, 20.0, 1.0) == 0.0
    assert acct.positions[7].quantity == -100
    assert acct.positions[7].avg_cost == pytest.approx(19.99)  # proceeds net of commission
    assert acct.cash == pytest.approx(51_999.0)
    assert acct.apply_fill(7, -100, 22.0, 1.0) == 0.0  # add to the short
    assert acct.positions[7].avg_cost == pytest.approx((2000 - 1 + 2200 - 1) / 200)
    realized = acct.apply_fill(7, 200, 18.0, 2.0)
    assert realized == pytest.approx((20.99 - 18.0) * 200 - 2.0)
    assert 7 not in acct.positions
    assert acct.cash - 50_000.0 == pytest.approx(realized)


def test_valuation_numbers() -> None:
    acct = AccountState(
        "DU1", 10_000.0, {1: Position(100, 10.0), 2: Position(-50, 9.0), 3: Position(10, 5.0)}
    )
    v = acct.valuation({1: 12.0, 2: 8.0})  # 3 has no mark: valued at cost
    assert v.market_value == pytest.approx(1200 - 400 + 50)
    assert v.gross_position_value == pytest.approx(1200 + 400 + 50)
    assert v.unrealized_pnl == pytest.approx(200 + 50 + 0)
    assert v.net_liquidation == pytest.approx(10_850.0)
    assert v.init_margin == pytest.approx(0.25 * 1650)
    assert v.available_funds == pytest.approx(10_850.0 - 412.5)
    assert v.buying_power == pytest.approx(4 * (10_850.0 - 412.5))
    values = v.values()
    assert values["NetLiquidation"] == pytest.approx(10_850.0)
    assert values["GrossPositionValue"] == pytest.approx(1650.0)
    assert values["BuyingPower"] == pytest.approx(4 * values["AvailableFunds"])
    assert values["TotalCashValue"] == 10_000.0
    broke = Valuation(-5_000.0, 1_000.0, 1_000.0, 0.0, 0.0)
    assert broke.buying_power == 0.0


def test_account_state_json_round_trip() -> None:
    acct = AccountState("DU1", 1234.5, {5: Position(-3, 7.25)}, 12.0, 3.0)
    assert AccountState.from_json(json.loads(json.dumps(acct.to_json()))) == acct


# ---- placeOrder as the client libraries write it ---------------------------------------------


def captured_place_order(
    lib: ModuleType, version: int, order_id: int, contract: Any, order: Any
) -> list[str]:
    """Fields of the placeOrder message the library's own Client would put on the wire."""
    client = lib.IB().client
    frames: list[bytes] = []
    client.sendMsg = lambda msg: frames.append(client._prefix(msg.encode()))
    client.connState = client.CONNECTED
    client._serverVersion = version
    try:
        client.placeOrder(order_id, contract, order)
    finally:
        client.connState = client.DISCONNECTED  # IB.__del__ would try to disconnect
    assert len(frames) == 1
    messages = FrameReader(expect_hello=False).feed(frames[0])
    assert len(messages) == 1
    assert messages[0][0] == "3"
    return messages[0]


LIB_VERSIONS = [("ib_async", 176), ("ib_async", 177), ("ib_async", 178), ("ib_insync", 176)]


@pytest.mark.parametrize(("name", "version"), LIB_VERSIONS)
def test_parse_limit_order(name: str, version: int) -> None:
    lib = importlib.import_module(name)
    contract = lib.Stock("GOOG", "SMART", "USD", primaryExchange="NASDAQ")
    order = lib.LimitOrder(
        "BUY", 100, 464.5, orderRef="ref-1", transmit=False, parentId=7,
        outsideRth=True, tif="GTC", account="DU0000001", ocaGroup="oca-9",
    )  # fmt: skip
    req = parse_place_order(captured_place_order(lib, version, 11, contract, order), version)
    assert req.order_id == 11
    assert req.contract.symbol == "GOOG"
    assert req.contract.exchange == "SMART"
    assert req.contract.primary_exchange == "NASDAQ"
    assert req.contract.currency == "USD"
    assert req.sec_type == "STK"
    assert (req.action, req.total_qty, req.order_type) == ("BUY", 100.0, "LMT")
    assert req.lmt_price == 464.5
    assert req.aux_price is None
    assert req.tif == "GTC"
    assert req.oca_group == "oca-9"
    assert req.account == "DU0000001"
    assert req.order_ref == "ref-1"
    assert req.transmit is False
    assert req.parent_id == 7
    assert req.outside_rth is True
    assert req.what_if is False


@pytest.mark.parametrize(("name", "version"), LIB_VERSIONS)
def test_parse_what_if_market_order(name: str, version: int) -> None:
    lib = importlib.import_module(name)
    contract = lib.Contract(conId=123456, exchange="SMART")
    order = lib.MarketOrder("SELL", 25, whatIf=True)
    req = parse_place_order(captured_place_order(lib, version, 3, contract, order), version)
    assert req.contract.con_id == 123456
    assert (req.action, req.total_qty, req.order_type) == ("SELL", 25.0, "MKT")
    assert req.lmt_price is None and req.aux_price is None
    assert req.tif == "DAY"
    assert req.transmit is True
    assert req.parent_id == 0
    assert req.outside_rth is False
    assert req.what_if is True


@pytest.mark.parametrize(("name", "version"), LIB_VERSIONS)
def test_parse_stop_limit_order(name: str, version: int) -> None:
    lib = importlib.import_module(name)
    contract = lib.Forex("EURUSD")
    order = lib.StopLimitOrder("SELL", 20_000, 1.2005, 1.201, orderRef="stop")
    req = parse_place_order(captured_place_order(lib, version, 99, contract, order), version)
    assert req.contract.sec_type == "CASH"
    assert req.contract.symbol == "EUR"
    assert req.contract.currency == "USD"
    assert req.contract.exchange == "IDEALPRO"
    assert req.order_type == "STP LMT"
    assert req.lmt_price == 1.2005
    assert req.aux_price == 1.201
    assert req.order_ref == "stop"
    assert req.what_if is False


@pytest.mark.parametrize(("name", "version"), LIB_VERSIONS)
@pytest.mark.parametrize("what_if", [False, True])
def test_what_if_found_after_optional_sections(name: str, version: int, what_if: bool) -> None:
    """Algo params, a hedge and scale fields move whatIf along; it must still be found."""
    lib = importlib.import_module(name)
    contract = lib.Stock("GOOG", "SMART", "USD")
    order = lib.LimitOrder(
        "BUY", 10, 100.0, whatIf=what_if, algoStrategy="Adaptive",
        algoParams=[lib.TagValue("adaptivePriority", "Normal"), lib.TagValue("x", "1")],
        hedgeType="P", hedgeParam="1", scalePriceIncrement=0.05,
    )  # fmt: skip
    req = parse_place_order(captured_place_order(lib, version, 4, contract, order), version)
    assert req.what_if is what_if
    assert req.lmt_price == 100.0


# ---- matching price rules --------------------------------------------------------------------


def sim_order(
    action: str, order_type: str, lmt: float | None = None, aux: float | None = None
) -> SimOrder:
    return SimOrder(
        order_id=1, client_id=1, perm_id=1, con_id=1, action=action, total_qty=10,
        order_type=order_type, lmt_price=lmt, aux_price=aux, tif="DAY", account="DU1",
        order_ref="", parent_id=0, oca_group="", outside_rth=False, transmit=True,
        status="Submitted",
    )  # fmt: skip


def quote(o: float, h: float, lo: float, last: float) -> Quote:
    return Quote(0, o, h, lo, last, 100, round(last - TICK, 10), round(last + TICK, 10))


MARKET = quote(100.0, 100.5, 99.5, 100.0)  # bid 99.99, ask 100.01


def test_immediate_market_orders_cross_the_spread() -> None:
    assert immediate_fill_price(sim_order("BUY", "MKT"), MARKET) == 100.01
    assert immediate_fill_price(sim_order("SELL", "MKT"), MARKET) == 99.99


def test_immediate_limit_orders() -> None:
    assert immediate_fill_price(sim_order("BUY", "LMT", 100.01), MARKET) == 100.01
    assert immediate_fill_price(sim_order("BUY", "LMT", 101.0), MARKET) == 100.01  # at the ask
    assert immediate_fill_price(sim_order("BUY", "LMT", 100.0), MARKET) is None
    assert immediate_fill_price(sim_order("SELL", "LMT", 99.99), MARKET) == 99.99
    assert immediate_fill_price(sim_order("SELL", "LMT", 99.0), MARKET) == 99.99
    assert immediate_fill_price(sim_order("SELL", "LMT", 100.0), MARKET) is None


def test_immediate_stops() -> None:
    resting = sim_order("BUY", "STP", aux=100.5)
    resting.status = "PreSubmitted"
    assert immediate_fill_price(resting, MARKET) is None
    assert not resting.triggered and resting.status == "PreSubmitted"

    hit = sim_order("BUY", "STP", aux=100.0)
    assert immediate_fill_price(hit, MARKET) == 100.01
    assert hit.triggered and hit.status == "Submitted"

    sell = sim_order("SELL", "STP", aux=100.0)
    assert immediate_fill_price(sell, MARKET) == 99.99
    assert immediate_fill_price(sim_order("SELL", "STP", aux=99.5), MARKET) is None

    stp_lmt = sim_order("BUY", "STP LMT", lmt=100.0, aux=99.0)
    assert immediate_fill_price(stp_lmt, MARKET) is None  # triggered, limit below the ask
    assert stp_lmt.triggered
    assert immediate_fill_price(sim_order("BUY", "STP LMT", 100.05, 99.0), MARKET) == 100.01
    assert immediate_fill_price(sim_order("SELL", "STP LMT", 99.9, 100.0), MARKET) == 99.99


def test_bucket_market_and_limit_orders() -> None:
    assert bucket_fill_price(sim_order("BUY", "MKT"), quote(101, 102, 100, 101.5)) == 101
    assert bucket_fill_price(sim_order("SELL", "MKT"), quote(101, 102, 100, 101.5)) == 101

    buy = sim_order("BUY", "LMT", 100.0)
    assert bucket_fill_price(buy, quote(101.0, 101.5, 99.5, 101.0)) == 100.0  # traded through
    assert bucket_fill_price(buy, quote(101.0, 101.5, 100.0, 101.0)) == 100.0  # touched
    assert bucket_fill_price(buy, quote(99.0, 99.5, 98.0, 99.2)) == 99.0  # gapped: the open
    assert bucket_fill_price(buy, quote(101.0, 101.5, 100.01, 101.0)) is None  # untouched

    sell = sim_order("SELL", "LMT", 100.0)
    assert bucket_fill_price(sell, quote(99.0, 100.5, 98.5, 99.0)) == 100.0
    assert bucket_fill_price(sell, quote(101.0, 101.5, 100.5, 101.0)) == 101.0  # gapped
    assert bucket_fill_price(sell, quote(99.0, 99.99, 98.0, 99.0)) is None


def test_bucket_stop_orders() -> None:
    buy = sim_order("BUY", "STP", aux=100.0)
    buy.status = "PreSubmitted"
    assert bucket_fill_price(buy, quote(99.0, 99.99, 98.0, 99.5)) is None
    assert not buy.triggered and buy.status == "PreSubmitted"
    assert bucket_fill_price(buy, quote(99.0, 100.5, 98.0, 99.5)) == 100.0
    assert buy.triggered and buy.status == "Submitted"
    gapped = sim_order("BUY", "STP", aux=100.0)
    assert bucket_fill_price(gapped, quote(102.0, 103.0, 101.5, 102.5)) == 102.0

    sell = sim_order("SELL", "STP", aux=100.0)
    assert bucket_fill_price(sell, quote(101.0, 101.5, 100.01, 101.0)) is None
    assert bucket_fill_price(sell, quote(101.0, 101.5, 99.0, 100.0)) == 100.0
    sell_gap = sim_order("SELL", "STP", aux=100.0)
    assert bucket_fill_price(sell_gap, quote(97.0, 98.0, 96.0, 97.0)) == 97.0

    triggered = sim_order("BUY", "STP", aux=100.0)
    triggered.triggered = True  # e.g. by immediate_fill_price: now a market order
    assert bucket_fill_price(triggered, quote(104.0, 105.0, 103.0, 104.0)) == 104.0


def test_bucket_stop_limit_orders() -> None:
    buy = sim_order("BUY", "STP LMT", lmt=101.0, aux=100.0)
    assert bucket_fill_price(buy, quote(99.0, 99.5, 98.0, 99.0)) is None
    assert not buy.triggered
    assert bucket_fill_price(buy, quote(99.0, 100.5, 98.0, 100.2)) == 100.0  # at the stop

    gap = sim_order("BUY", "STP LMT", lmt=101.0, aux=100.0)
    assert bucket_fill_price(gap, quote(102.0, 103.0, 101.5, 102.0)) is None  # above limit
    assert gap.triggered  # the stop fired; the limit now rests
    assert bucket_fill_price(gap, quote(100.8, 101.2, 100.5, 101.0)) == 100.8
    gap_fill = sim_order("BUY", "STP LMT", lmt=103.0, aux=100.0)
    assert bucket_fill_price(gap_fill, quote(102.0, 103.0, 101.5, 102.0)) == 102.0

    sell = sim_order("SELL", "STP LMT", lmt=99.0, aux=100.0)
    assert bucket_fill_price(sell, quote(101.0, 101.5, 99.5, 100.0)) == 100.0
    sell_gap = sim_order("SELL", "STP LMT", lmt=99.0, aux=100.0)
    assert bucket_fill_price(sell_gap, quote(98.0, 98.5, 97.0, 98.0)) is None
    assert sell_gap.triggered
    assert bucket_fill_price(sell_gap, quote(98.0, 99.5, 97.0, 98.0)) == 99.0


# ---- clock and replay loop -------------------------------------------------------------------


def test_sim_clock_runs_at_speed() -> None:
    mono = FakeMonotonic()
    clock = SimClock(1_000_000, 60.0, monotonic=mono)
    assert clock.now() == 1_000_000
    mono.t += 2.5
    assert clock.now() == 1_000_150
    clock.set(2_000_000)
    assert clock.now() == 2_000_000
    mono.t += 1
    assert clock.now() == 2_000_060
    assert clock.real_delay(2_000_120) == pytest.approx(1.0)
    assert clock.real_delay(1_999_000) == 0.0


def test_paused_clock_stands_still() -> None:
    mono = FakeMonotonic()
    clock = SimClock(500, 0, monotonic=mono)
    mono.t += 1000
    assert clock.now() == 500
    assert clock.real_delay(505) == float("inf")
    clock.set(600)
    assert clock.now() == 600
    with pytest.raises(ValueError):
        SimClock(0, -1, monotonic=mono)


def test_run_until_steps_every_boundary_once_in_order() -> None:
    clock = SimClock(1_002, 0, monotonic=FakeMonotonic())
    steps: list[int] = []
    loop = ReplayLoop(clock, steps.append, lambda t: None)
    assert loop.next_boundary == 1_005
    assert loop.run_until(1_004.9) == 0
    assert loop.run_until(1_020) == 4
    assert steps == [1_005, 1_010, 1_015, 1_020]
    assert loop.run_until(1_020) == 0
    assert loop.run_until(1_024) == 0
    assert loop.run_until(1_025) == 1
    assert loop.run_until(1_050) == 5
    assert steps == list(range(1_005, 1_051, 5))

    on_boundary = ReplayLoop(SimClock(1_000, 0, FakeMonotonic()), lambda t: None, lambda t: None)
    assert on_boundary.next_boundary == 1_005


class _Stop(Exception):
    pass


def test_run_paces_steps_and_skips_closed_markets() -> None:
    mono = FakeMonotonic()
    clock = SimClock(1_000, 10.0, monotonic=mono)
    steps: list[tuple[int, float]] = []
    delays: list[float] = []

    def step(boundary: int) -> None:
        steps.append((boundary, clock.now()))
        if len(steps) >= 4:
            raise _Stop

    async def sleep(delay: float) -> None:
        delays.append(delay)
        mono.t += delay or 0.0002  # real time passes while the loop yields

    opens = 1_000 + 3_600
    loop = ReplayLoop(clock, step, lambda t: opens if t < opens else None, sleep=sleep)
    with pytest.raises(_Stop):
        asyncio.run(loop.run())
    boundaries = [b for b, _ in steps]
    # first boundary at 1005 (0.5 s real); then the hour of closed market is skipped
    assert boundaries[0] == 1_005
    assert opens - BUCKET <= boundaries[1] <= opens
    assert boundaries[1:] == list(range(boundaries[1], boundaries[1] + 5 * 3, 5))
    assert all(d <= MAX_SLICE + 1e-9 for d in delays)  # long waits are sliced
    # every step runs at (not before) its boundary, and within the spin window after it
    assert all(b <= now <= b + (2 * SPIN + 0.0002) * 10.0 + 1e-6 for b, now in steps)

    fixed = ReplayLoop(SimClock(0, 0, mono), lambda t: None, lambda t: None)
    asyncio.run(fixed.run())  # paused: returns at once


# ---- state -----------------------------------------------------------------------------------


def sample_state() -> SimState:
    acct = AccountState("DU1", 99_000.5, {111: Position(10, 100.1), 222: Position(-5, 20.0)})
    acct.realized_pnl, acct.commissions = 12.5, 3.0
    order = sim_order("BUY", "LMT", 100.0)
    order.perm_id, order.status, order.filled = 1_000_001, "Filled", 10
    order.avg_fill_price, order.completed_at, order.expires_at = 100.0, 1_136_903_500, 1_136_926_800
    stop = sim_order("SELL", "STP", aux=95.0)
    stop.order_id, stop.perm_id, stop.client_id, stop.parent_id = 2, 1_000_002, 3, 1
    execution = Execution(
        exec_id="abc.01", order_id=1, client_id=1, perm_id=1_000_001, con_id=111,
        time=1_136_903_500, side="BUY", shares=10, price=100.0, cum_qty=10, avg_price=100.0,
        order_ref="r", account="DU1", commission=1.0, realized_pnl=None,
    )  # fmt: skip
    state = SimState(
        acct, 1_136_903_600, {o.perm_id: o for o in (order, stop)}, [execution],
        {1: 1, 3: 2}, next_perm_id=1_000_003, exec_seq=1, trading_day=13_158,
    )  # fmt: skip
    return state


def test_state_json_round_trip() -> None:
    state = sample_state()
    again = SimState.from_json(json.loads(json.dumps(state.to_json())))
    assert again == state
    assert again.orders[1_000_002].parent_id == 1
    assert again.account.positions[222] == Position(-5, 20.0)


def test_save_and_load_state(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "state.json"
    assert load_state(path) is None
    state = sample_state()
    save_state(state, path)
    assert load_state(path) == state
    state.sim_time += 5
    save_state(state, path)
    assert load_state(path) == state
    assert [p.name for p in path.parent.iterdir()] == ["state.json"]  # no temp files left


@pytest.mark.parametrize(
    "text",
    [
        "{not json",
        "",
        "[]",
        "null",
        "42",
        '{"version": 1}',
        '{"version": 99}',
        '{"version": 1, "x": 2}',
    ],
)
def test_corrupt_state_file_is_a_data_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "state.json"
    path.write_text(text)
    with pytest.raises(DataError):
        load_state(path)


def test_next_valid_id_is_above_every_id_in_use() -> None:
    state = SimState(AccountState("DU1", 1.0), 0)
    assert state.next_valid_id(1) == 1
    state.note_order_id(1, 10)
    state.note_order_id(2, 50)
    state.note_order_id(1, 5)  # lower ids do not lower the mark
    assert state.max_order_id == {1: 10, 2: 50}
    assert state.next_valid_id(1) == 51
    assert state.next_valid_id(2) == 51
    assert state.next_valid_id(9) == 51
    assert state.take_perm_id() == 1_000_001
    assert state.take_perm_id() == 1_000_002


# ---- contracts -------------------------------------------------------------------------------


def test_stable_con_id_is_fixed_by_identity() -> None:
    assert stable_con_id("STK", "GOOG", "USD") == stable_con_id("STK", "GOOG", "USD")
    assert stable_con_id("STK", "GOOG", "USD") == 338_011_850  # same on every machine
    assert stable_con_id("STK", "GOOG", "USD") != stable_con_id("STK", "ORCL", "USD")
    assert stable_con_id("CASH", "EUR", "USD") != stable_con_id("STK", "EUR", "USD")
    assert 100_000 <= stable_con_id("CASH", "EUR", "USD") < 900_100_000
    assert instrument_for("GOOG").con_id == stable_con_id("STK", "GOOG", "USD")


def test_forex_pair_instrument() -> None:
    eur = instrument_for("EURUSD")
    assert eur.sec_type == "CASH"
    assert eur.is_forex
    assert (eur.symbol, eur.currency, eur.local_symbol) == ("EUR", "USD", "EUR.USD")
    assert eur.exchange == "IDEALPRO"
    assert eur.con_id == stable_con_id("CASH", "EUR", "USD")
    goog = instrument_for("GOOG")
    assert (goog.sec_type, goog.currency, goog.exchange) == ("STK", "USD", "SMART")
    assert not goog.is_forex
    assert instrument_for("EURXYZ").sec_type == "STK"  # not two currencies


def q(con_id: int = 0, symbol: str = "", sec_type: str = "", exchange: str = "",
      currency: str = "", local_symbol: str = "", primary: str = "") -> ContractQuery:  # fmt: skip
    return ContractQuery(con_id, symbol, sec_type, exchange, primary, currency, local_symbol)


def test_contract_book_find() -> None:
    goog, orcl, eur = (instrument_for(s) for s in ("GOOG", "ORCL", "EURUSD"))
    book = ContractBook([goog, orcl, eur])
    assert [book.by_con_id(i.con_id) for i in (goog, orcl, eur)] == [goog, orcl, eur]
    assert book.find(q(symbol="GOOG", sec_type="STK", exchange="SMART", currency="USD")) == [goog]
    assert book.find(q(symbol="GOOG")) == [goog]
    assert book.find(q(symbol="GOOG", exchange="SMART", primary="NASDAQ")) == [goog]
    assert book.find(q(con_id=orcl.con_id)) == [orcl]
    assert book.find(q(con_id=orcl.con_id, symbol="GOOG")) == []  # id and symbol disagree
    assert book.by_con_id(eur.con_id) is eur
    assert book.find(q(symbol="EUR", sec_type="CASH", exchange="IDEALPRO", currency="USD")) == [eur]
    assert book.find(q(local_symbol="EUR.USD", sec_type="CASH")) == [eur]
    assert book.find(q(symbol="EUR", exchange="SMART")) == []  # forex is not on SMART
    assert book.find(q(symbol="GOOG", currency="EUR")) == []
    assert book.find(q(symbol="MSFT")) == []
    assert book.find(q(con_id=1)) == []
    assert book.by_con_id(1) is None


def test_a_failing_step_is_logged_and_replay_goes_on(monkeypatch: pytest.MonkeyPatch) -> None:
    from tradd.simgw.gateway import SimGateway

    from .conftest import sim_config

    gw = SimGateway(sim_config(symbols=("GOOG",)))
    calls: list[int] = []

    def broken(boundary: int) -> None:
        calls.append(boundary)
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(gw.core.market, "publish", broken)
    steps = gw.advance(15)
    assert steps == 3 and len(calls) == 3  # every bucket attempted, none fatal
    assert gw.state.sim_time == calls[-1]


def test_state_file_of_another_account_is_refused(tmp_path: Path) -> None:
    from tradd.simgw.gateway import SimGateway

    from .conftest import sim_config

    path = tmp_path / "state.json"
    save_state(sample_state(), path)  # account DU1
    with pytest.raises(DataError, match="DU1"):
        SimGateway(sim_config(symbols=("GOOG",), state_file=path, account="DU2"))
    assert load_state(path) is not None  # left as it was


def test_admin_advance_rejects_nan_and_negative() -> None:
    from tradd.simgw.admin import AdminServer
    from tradd.simgw.gateway import SimGateway

    from .conftest import sim_config

    gw = SimGateway(sim_config(symbols=("GOOG",)))
    admin = AdminServer(gw, Path("/nonexistent"))
    before = gw.sim_time
    for bad in (b'{"op": "advance", "seconds": NaN}', b'{"op": "advance", "seconds": -60}'):
        reply = asyncio.run(admin.handle_line(bad))
        assert reply["ok"] is False and "seconds" in reply["error"]
    assert gw.sim_time == before
    reply = asyncio.run(admin.handle_line(b'{"op": "advance", "seconds": 10}'))
    assert reply["ok"] is True and gw.sim_time == before + 10


def test_same_session_uses_exchange_days(goog: Tape) -> None:
    tape = goog
    i = 1000
    open_, close = int(tape.starts[i]), int(tape.ends[i])
    assert tape.same_session(open_, close - 1)
    assert not tape.same_session(int(tape.ends[i - 1]) - 5, open_)  # yesterday's last bucket
    assert not tape.same_session(close + 60, open_)  # closed
