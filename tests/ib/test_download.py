"""`tradd data download` against the IB Gateway simulator over loopback TCP.

The simulator serves daily history from exactly the shipped sample bars and 1-minute
history from the shipped 1-minute file, so a correct download reproduces those files for
the requested range: no bar lost or doubled at a page seam. Its clock is IB's "now", so
history ends at its start. The downloader runs in-process with a fake clock and sleep
(pacing waits and backoff are asserted, not slept); one test runs the CLI as a process.
"""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from tests.conftest import SAMPLE_DATA, RunCli
from tradd.errors import DataError, TemporaryError, UsageError
from tradd.ib.client import IBClient
from tradd.ib.download import download
from tradd.ib.download_plan import (
    STEPS,
    DownloadReport,
    DownloadSpec,
    FetchRange,
    Gateway,
    duration_for,
    plan_ranges,
)
from tradd.ib.pacing import HistoryPacer, RetryPolicy
from tradd.ib.types import ClientListener, HistoryResult
from tradd.marketdata.bars import Bars
from tradd.marketdata.contracts import load_definitions
from tradd.marketdata.store import DataStore
from tradd.marketdata.validate import QualityRules, validate_file
from tradd.simgw.background import BackgroundGateway
from tradd.simgw.config import SimConfig

EASTERN = ZoneInfo("US/Eastern")
MET = ZoneInfo("MET")
LIBRARIES = ("ib_async", "ib_insync")
DAILY_NOW = date(2013, 3, 4)
"""Simulator start: Monday 09:30, so daily history runs through Friday 2013-03-01."""
SAMPLE = DataStore(SAMPLE_DATA)
COLUMNS = ("time", "open", "high", "low", "close", "volume")


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class CountingClient(IBClient):
    """The real client, remembering every historical request; can fail the n-th one."""

    def __init__(self, listener: ClientListener, harness: Harness) -> None:
        super().__init__(listener, library=harness.library, request_timeout=harness.timeout)
        self.requests: list[tuple[str, datetime | None, str, str]] = []
        self._fail_on, self._drop_on, self._sim = harness.fail_on, harness.drop_on, harness.sim

    async def history(self, symbol: str, end: datetime | None, duration: str, bar_size: str,
                      use_rth: bool = True, what: str = "TRADES") -> HistoryResult:  # fmt: skip
        self.requests.append((symbol, end, duration, bar_size))
        if len(self.requests) == self._fail_on:
            raise TemporaryError(f"{symbol}: injected failure")
        if len(self.requests) == self._drop_on:
            self._sim.call(self._sim.gw.faults.drop)
        return await super().history(symbol, end, duration, bar_size, use_rth, what)


class Harness:
    """Runs `download` against one simulator and counts clients and requests."""

    def __init__(self, sim: BackgroundGateway, data: Path, library: str = "ib_async") -> None:
        self.sim, self.store, self.library = sim, DataStore(data), library
        self.time = FakeTime()
        self.clients: list[CountingClient] = []
        self.fail_on: int | None = None
        self.drop_on: int | None = None
        self.timeout = 5.0
        self.lines: list[str] = []

    @property
    def requests(self) -> list[tuple[str, datetime | None, str, str]]:
        return [r for c in self.clients for r in c.requests]

    def _client(self, listener: ClientListener) -> IBClient:
        client = CountingClient(listener, self)
        self.clients.append(client)
        return client

    def run(self, symbols: tuple[str, ...], start: date, end: date, bar: str = "1d",
            **options: Any) -> DownloadReport:  # fmt: skip
        what, rth = options.pop("what", "TRADES"), options.pop("use_rth", True)
        spec = DownloadSpec(symbols, start, end, bar, what, rth)
        pacer = HistoryPacer(None, RetryPolicy(), clock=self.time.clock, sleep=self.time.sleep)
        gateway = Gateway("127.0.0.1", self.sim.port, 901, 5.0, self.timeout, self.library)
        return download(spec, self.store, gateway, pacer, echo=self.lines.append,
                        client_factory=self._client, **options)  # fmt: skip


def sim_config(start: date, symbols: tuple[str, ...]) -> SimConfig:
    return SimConfig(data_dir=SAMPLE_DATA, port=0, speed=0, pacing=False, start=start,
                     symbols=symbols)  # fmt: skip


@pytest.fixture
def daily_sim() -> Iterator[BackgroundGateway]:
    with BackgroundGateway(sim_config(DAILY_NOW, ("GOOG", "ORCL"))) as sim:
        yield sim


@pytest.fixture
def harness(daily_sim: BackgroundGateway, tmp_path: Path) -> Harness:
    return Harness(daily_sim, tmp_path / "data")


def assert_same_bars(got: Bars, want: Bars) -> None:
    assert len(got) == len(want)
    for name in COLUMNS:
        np.testing.assert_array_equal(getattr(got, name), getattr(want, name), err_msg=name)


def assert_valid(path: Path, symbol: str, bar: str) -> None:
    report = validate_file(path, symbol, bar, QualityRules(max_gap_bars=10_000))
    assert report.errors == []


def eastern(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=EASTERN)


# ---- planning (no gateway) ------------------------------------------------------------------


def test_plan_fetches_only_before_the_first_and_after_the_last_bar() -> None:
    spec = DownloadSpec(("GOOG",), date(2012, 1, 1), date(2013, 3, 1))
    span = (datetime(2012, 6, 1), datetime(2012, 12, 31))
    assert plan_ranges(span, spec, today=date(2026, 1, 1)) == [
        FetchRange(datetime(2012, 12, 31), datetime(2013, 3, 2), keep_partial=False),
        FetchRange(datetime(2012, 1, 1), datetime(2012, 6, 1), keep_partial=True),
    ]
    assert plan_ranges(None, spec, date(2026, 1, 1)) == [
        FetchRange(datetime(2012, 1, 1), datetime(2013, 3, 2), keep_partial=True)
    ]
    covered = (datetime(2011, 1, 3), datetime(2013, 3, 1))
    assert plan_ranges(covered, spec, today=date(2026, 1, 1)) == []
    # the range reaches today: the last bar may have been in progress, fetch it again
    assert plan_ranges(covered, spec, today=date(2013, 3, 1)) == [
        FetchRange(datetime(2013, 3, 1), datetime(2013, 3, 2), keep_partial=False)
    ]


def test_durations_cover_the_gap_within_ibs_maximum_per_bar_size() -> None:
    def duration(bar: str, lo: date, hi: date) -> tuple[str, int]:
        text, reach = duration_for(eastern(hi) - eastern(lo), STEPS[bar])
        return text, reach.days

    assert duration("1d", date(2012, 12, 31), date(2013, 3, 2)) == ("61 D", 61)
    assert duration("1d", date(2005, 1, 1), date(2013, 3, 2)) == ("1 Y", 365)
    assert duration("1h", date(2006, 1, 1), date(2006, 2, 1)) == ("1 M", 28)
    assert duration("1m", date(2006, 1, 2), date(2006, 1, 30)) == ("1 W", 7)
    assert duration("1m", date(2006, 1, 2), date(2006, 1, 5)) == ("3 D", 3)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"bar": "5m"}, "--bar 5m: download supports 1d, 1h, 1m"),
        ({"what": "BID"}, "--what BID: use one of TRADES, MIDPOINT, ADJUSTED_LAST"),
        ({"what": "adjusted_last", "bar": "1h"}, "--what ADJUSTED_LAST: only with --bar 1d"),
        ({"start": date(2014, 1, 1)}, "--start 2014-01-01: after --end 2013-03-01"),
        ({"symbols": ("GOOG", "../x")}, "invalid symbol '../x'"),
        ({"symbols": ()}, "--symbols: give at least one symbol"),
    ],
)
def test_bad_arguments_are_usage_errors_naming_option_and_value(
    change: dict[str, Any], message: str
) -> None:
    args: dict[str, Any] = {"symbols": ("GOOG",), "start": date(2012, 1, 1),
                            "end": date(2013, 3, 1)} | change  # fmt: skip
    with pytest.raises(UsageError, match=message.replace(".", r"\.")):
        DownloadSpec(**args)
    with pytest.raises(UsageError, match="--port 0: must be 1..65535"):
        Gateway("127.0.0.1", 0, 1)


# ---- against the simulator ------------------------------------------------------------------


@pytest.mark.parametrize("library", LIBRARIES)
def test_multi_page_daily_download_equals_the_sample_file(
    daily_sim: BackgroundGateway, tmp_path: Path, library: str
) -> None:
    h = Harness(daily_sim, tmp_path / "data", library)
    report = h.run(("goog",), date(2005, 1, 1), date(2012, 12, 31))
    assert report.failures == ()
    # 1 Y pages back from 2013-01-01; the eighth reaches 2005-01-09, "9 D" asks for the rest
    assert [duration for _, _, duration, _ in h.requests] == ["1 Y"] * 8 + ["9 D"]
    ends = [end for _, end, _, _ in h.requests]
    assert ends[0] == eastern(date(2013, 1, 1))
    got = h.store.load("GOOG", "1d")
    assert_same_bars(got, SAMPLE.load("GOOG", "1d", date(2005, 1, 1), date(2012, 12, 31)))
    assert len(np.unique(got.time)) == len(got)
    (symbol,) = report.symbols
    assert (symbol.added, symbol.replaced, symbol.total, symbol.requests) == (
        len(got), 0, len(got), 9)  # fmt: skip
    path = h.store.path_for("GOOG", "1d")
    assert path.read_text().splitlines()[1].startswith("2005-01-03,")  # daily bars as dates
    assert_valid(path, "GOOG", "1d")
    assert h.time.sleeps == [2.5]  # six pages for one contract within 2 s: the sixth waited
    assert any("GOOG 1d: added" in line for line in h.lines)


@pytest.mark.parametrize("library", LIBRARIES)
def test_one_minute_download_over_several_pages_equals_the_simulators_history(
    tmp_path: Path, library: str
) -> None:
    with BackgroundGateway(sim_config(date(2006, 1, 20), ("IDXFUT",))) as sim:
        now = datetime.fromtimestamp(sim.gw.sim_time, UTC).astimezone(MET)  # the future's zone
        h = Harness(sim, tmp_path / "data", library)
        # IDXFUT is the FESX future of the sample data's contracts.toml: qualified from it
        report = h.run(("IDXFUT",), date(2006, 1, 2), date(2006, 1, 19), "1m", use_rth=False,
                       definitions=load_definitions(SAMPLE_DATA))  # fmt: skip
    assert report.failures == ()
    # now is 09:01 MET on the 20th: two weeks back reach the 6th at 09:01, 4 days 9 hours on
    assert [duration for _, _, duration, _ in h.requests] == ["1 W", "1 W", "5 D"]
    assert h.requests[0][3] == "1 min"
    got = h.store.load("IDXFUT", "1m")
    want = SAMPLE.load("IDXFUT", "1m", date(2006, 1, 2), date(2006, 1, 19))
    want = want.take(want.time < np.datetime64(now.replace(tzinfo=None), "s"))  # completed bars
    assert_same_bars(got, want)
    path = h.store.path_for("IDXFUT", "1m")
    assert path.read_text().splitlines()[1].startswith("2006-01-02T09:01:00,")  # local starts
    assert_valid(path, "IDXFUT", "1m")


def test_incremental_update_fetches_only_the_missing_ranges(harness: Harness) -> None:
    store, sample = harness.store, SAMPLE.load("GOOG", "1d")
    existing = sample.between(date(2012, 1, 3), date(2012, 12, 31))
    store.merge("GOOG", "1d", existing)
    marked = existing.close.copy()
    marked[[100, -1]] = 1.0  # a row inside the file and its last row, both "wrong"
    store.merge("GOOG", "1d", Bars("GOOG", "1d", existing.time, existing.open, existing.high,
                                   existing.low, marked, existing.volume))  # fmt: skip

    report = harness.run(("GOOG",), date(2011, 6, 1), date(2013, 3, 1))

    assert harness.requests == [
        ("GOOG", eastern(date(2013, 3, 2)), "61 D", "1 day"),  # after the last bar, with it
        ("GOOG", eastern(date(2012, 1, 3)), "216 D", "1 day"),  # before the first bar
    ]
    got = store.load("GOOG", "1d")
    want = sample.between(date(2011, 6, 1), date(2013, 3, 1))
    assert got.close[got.time == existing.time[100]] == [1.0]  # rows inside are kept as they are
    fixed = got.close.copy()
    fixed[got.time == existing.time[100]] = existing.close[100]
    np.testing.assert_array_equal(fixed, want.close)
    np.testing.assert_array_equal(got.time, want.time)
    (symbol,) = report.symbols
    new = len(want) - len(existing)
    assert (symbol.added, symbol.replaced, symbol.total) == (new, 1, len(want))

    again = harness.run(("GOOG",), date(2011, 6, 1), date(2013, 3, 1))
    assert again.requests == 0 and len(harness.requests) == 2
    assert len(harness.clients) == 1  # up to date: no connection at all
    assert "up to date" in harness.lines[-1]


def test_forced_pacing_violations_are_retried_with_backoff(harness: Harness) -> None:
    harness.sim.call(harness.sim.gw.faults.pacing_violations, 2)
    report = harness.run(("GOOG",), date(2012, 10, 1), date(2012, 12, 31))
    assert report.failures == ()
    assert len(harness.requests) == 3
    # 10 s backoff, 5.5 s more for the identical-request rule (15 s + margin), then 20 s
    assert harness.time.sleeps == [10.0, pytest.approx(5.5), 20.0]
    assert_same_bars(harness.store.load("GOOG", "1d"),
                     SAMPLE.load("GOOG", "1d", date(2012, 10, 1), date(2012, 12, 31)))  # fmt: skip


def test_persistent_pacing_violations_give_up_with_exit_code_1(harness: Harness) -> None:
    harness.sim.call(harness.sim.gw.faults.pacing_violations, 6)
    report = harness.run(("GOOG",), date(2012, 10, 1), date(2012, 12, 31))
    assert len(harness.requests) == 6  # the first try and five retries
    assert harness.time.sleeps == [10.0, pytest.approx(5.5), 20.0, 40.0, 80.0, 120.0]
    with pytest.raises(TemporaryError, match=r"GOOG 1d: 92 D of 1 day TRADES bars ending "
                       r"2013-01-01 00:00 US/Eastern: IB answered 162") as info:  # fmt: skip
        report.raise_for_failures()
    assert info.value.exit_code == 1
    assert not harness.store.path_for("GOOG", "1d").exists()


def test_a_failed_page_keeps_only_bars_that_leave_no_hole(harness: Harness) -> None:
    harness.fail_on = 2
    report = harness.run(("GOOG",), date(2011, 1, 1), date(2013, 3, 1))
    assert [s.error is not None for s in report.symbols] == [True]
    got = harness.store.load("GOOG", "1d")  # the first page adjoins the end: kept
    assert_same_bars(got, SAMPLE.load("GOOG", "1d", date(2012, 3, 2), date(2013, 3, 1)))
    harness.fail_on = None
    assert harness.run(("GOOG",), date(2011, 1, 1), date(2013, 3, 1)).failures == ()
    assert_same_bars(harness.store.load("GOOG", "1d"),
                     SAMPLE.load("GOOG", "1d", date(2011, 1, 1), date(2013, 3, 1)))  # fmt: skip

    tail_gap = SAMPLE.load("ORCL", "1d", date(2010, 1, 4), date(2011, 6, 30))
    harness.store.merge("ORCL", "1d", tail_gap)
    before = harness.store.path_for("ORCL", "1d").read_bytes()
    harness.fail_on = 2  # second page of the 20-month tail
    assert harness.run(("ORCL",), date(2010, 1, 4), date(2013, 3, 1)).failures != ()
    assert harness.store.path_for("ORCL", "1d").read_bytes() == before  # no hole left behind


def test_an_unanswered_request_is_a_temporary_error_not_the_end_of_history(
    harness: Harness,
) -> None:
    harness.sim.call(harness.sim.gw.faults.ignore, 20)
    harness.timeout = 1.0
    report = harness.run(("GOOG",), date(2012, 10, 1), date(2012, 12, 31))
    (symbol,) = report.failures
    assert isinstance(symbol.error, TemporaryError)
    assert "no answer to a historical data request within 1 s" in str(symbol.error)
    assert not harness.store.path_for("GOOG", "1d").exists()


def test_unknown_symbol_is_a_data_error_after_the_others_are_written(harness: Harness) -> None:
    report = harness.run(("NOSUCH", "GOOG"), date(2012, 10, 1), date(2012, 12, 31))
    with pytest.raises(DataError, match="NOSUCH: unknown to IB") as info:
        report.raise_for_failures()
    assert info.value.exit_code == 65
    assert_same_bars(harness.store.load("GOOG", "1d"),
                     SAMPLE.load("GOOG", "1d", date(2012, 10, 1), date(2012, 12, 31)))  # fmt: skip


def test_a_lost_connection_stops_the_download_naming_the_gateway(harness: Harness) -> None:
    harness.drop_on = 2
    with pytest.raises(TemporaryError, match=f"lost the connection to IB at 127.0.0.1:"
                       f"{harness.sim.port}"):  # fmt: skip
        harness.run(("GOOG", "ORCL"), date(2011, 1, 1), date(2013, 3, 1))
    assert [r[0] for r in harness.requests] == ["GOOG", "GOOG"]  # ORCL was not attempted
    got = harness.store.load("GOOG", "1d")  # the finished first page adjoins the end: kept
    assert_same_bars(got, SAMPLE.load("GOOG", "1d", date(2012, 3, 2), date(2013, 3, 1)))


def test_a_range_reaching_today_asks_for_the_latest_bars_without_an_end(harness: Harness) -> None:
    report = harness.run(("GOOG",), date(2013, 2, 1), DAILY_NOW, today=DAILY_NOW)
    assert report.failures == ()
    assert harness.requests == [("GOOG", None, "32 D", "1 day")]
    assert_same_bars(harness.store.load("GOOG", "1d"), SAMPLE.load("GOOG", "1d", date(2013, 2, 1)))


def test_todays_bar_in_progress_is_not_stored(tmp_path: Path) -> None:
    """Ending now, IB's last daily bar is today's, still trading: it is not written."""
    monday = date(2013, 2, 25)
    with BackgroundGateway(sim_config(monday, ("GOOG",))) as sim:
        harness = Harness(sim, tmp_path / "data")
        sim.call(sim.gw.advance, 3 * 3600)  # 12:30 New York
        report = harness.run(("GOOG",), date(2013, 2, 1), monday, today=monday)
    assert report.failures == ()
    assert harness.requests == [("GOOG", None, "25 D", "1 day")]  # asked ending now
    got = harness.store.load("GOOG", "1d")
    assert str(got.time[-1])[:10] == "2013-02-22"  # Friday; Monday's bar is not over
    assert_same_bars(got, SAMPLE.load("GOOG", "1d", date(2013, 2, 1), date(2013, 2, 22)))


def test_adjusted_last_is_one_request_ending_now_and_refetched_every_time(
    harness: Harness,
) -> None:
    for _ in range(2):
        report = harness.run(("GOOG",), date(2012, 10, 1), date(2012, 12, 31), what="ADJUSTED_LAST",
                             today=DAILY_NOW)  # fmt: skip
        assert report.failures == ()
    assert harness.requests == [("GOOG", None, "155 D", "1 day")] * 2
    assert_same_bars(harness.store.load("GOOG", "1d"),
                     SAMPLE.load("GOOG", "1d", date(2012, 10, 1), date(2012, 12, 31)))  # fmt: skip
    assert report.symbols[0].replaced == report.symbols[0].total


# ---- the command ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_cli_downloads_reports_unknown_symbols_and_refuses_without_gateway(
    daily_sim: BackgroundGateway, run_cli: RunCli, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(SAMPLE_DATA / "ORCL.1d.csv", data / "ORCL.1d.csv")  # already complete
    args = ("--start", "2012-10-01", "--end", "2012-12-31", "--data-dir", str(data))
    result = run_cli("data", "download", "--symbols", "GOOG", "NOPE", "ORCL", *args,
                     "--port", str(daily_sim.port), "--client-id", "77")  # fmt: skip
    assert result.code == 65, result.stderr
    assert "NOPE: unknown to IB" in result.stderr
    want = SAMPLE.load("GOOG", "1d", date(2012, 10, 1), date(2012, 12, 31))
    assert "GOOG 1d: 92 D of 1 day TRADES bars ending 2013-01-01 00:00 US/Eastern: " in (
        result.stdout)  # fmt: skip
    assert f"GOOG 1d: added {len(want)}, replaced 0 in 1 request(s)" in result.stdout
    assert "ORCL 1d: up to date" in result.stdout
    assert_valid(data / "GOOG.1d.csv", "GOOG", "1d")
    assert_same_bars(DataStore(data).load("GOOG", "1d"), want)
    log = (tmp_path / "logs" / "cli.log").read_text()
    assert "data download" in log and "download.request" in log and "download.done" in log

    port = free_port()
    result = run_cli("data", "download", "--symbols", "GOOG", *args, "--end", "2013-01-31",
                     "--port", str(port))  # fmt: skip
    assert result.code == 1
    assert f"cannot connect to IB at 127.0.0.1:{port}" in result.stderr
