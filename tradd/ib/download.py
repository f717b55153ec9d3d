"""`tradd data download`: IB's historical bars into the data directory, incrementally.

IB serves history in pages (each request covers at most a duration that depends on the bar
size) and punishes request bursts with error 162, so a download is a walk backwards from
the end of each missing range, one paced request per page, until the range is covered or
IB has nothing older. Only the ranges the file lacks are asked for: before its first bar
and after its last (the last bar itself is fetched again: it may have been written while
still in progress). Bars are stored like every other tradd file: daily bars as dates,
intraday bars as bar-start times in the exchange's local time (never a bar still in
progress: IB includes today's incomplete bar in a request ending now), merged into the existing
file by the store (rows at timestamps already present are replaced, the rest kept, written
atomically). A failure keeps what cannot leave a hole: pages fetched backwards from a point
that adjoins the data (a new file, or the part before the first bar).

The IB library is reached only through `tradd.ib.client.IBClient`.
"""

from __future__ import annotations

import math
import queue
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import structlog

from tradd.errors import DataError, TemporaryError, TraddError
from tradd.ib import types as ib
from tradd.ib.client import IBClient
from tradd.ib.download_plan import (
    NO_QUERY_FOUND,
    OHLCV,
    STEPS,
    UNKNOWN_CONTRACT,
    ClientFactory,
    DownloadReport,
    DownloadSpec,
    FetchRange,
    Gateway,
    SymbolReport,
    duration_for,
    plan_ranges,
)
from tradd.ib.pacing import HistoryPacer
from tradd.ib.types import Bar, ClientListener, ContractInfo, HistoryResult, Notice
from tradd.marketdata.bars import Bars
from tradd.marketdata.contracts import ContractDefinitions
from tradd.marketdata.store import DataStore

DAY_SECONDS = 86_400


def _log() -> structlog.stdlib.BoundLogger:
    return structlog.get_logger("tradd.ib.download")  # type: ignore[no-any-return]


def download(
    spec: DownloadSpec,
    store: DataStore,
    gateway: Gateway,
    pacer: HistoryPacer,
    *,
    echo: Callable[[str], None] = lambda line: None,
    today: date | None = None,
    client_factory: ClientFactory | None = None,
    definitions: ContractDefinitions | None = None,
) -> DownloadReport:
    """Fetch what the files lack for every symbol; per-symbol failures are in the report.

    Connects only if something is missing. Raises TemporaryError when the gateway cannot
    be reached or the connection is lost (naming host:port). A symbol `definitions`
    describe (the data directory's contracts.toml) is qualified from its definition.
    """
    day = today or date.today()
    reports = {s: SymbolReport(s, spec.bar, str(store.path_for(s, spec.bar))) for s in spec.symbols}
    plans: dict[str, list[FetchRange]] = {}
    for symbol, report in reports.items():
        try:
            report.span = store.span(symbol, spec.bar)
            plans[symbol] = plan_ranges(report.span, spec, day)
        except TraddError as exc:
            report.error = exc
    todo = [s for s, ranges in plans.items() if ranges]
    for symbol in (s for s, ranges in plans.items() if not ranges):
        _up_to_date(reports[symbol], echo)
    if todo:
        factory = client_factory or _default_factory(gateway)
        listener = DownloadListener()
        with _connected(factory(listener), gateway) as client:
            job = _Job(spec, store, gateway, pacer, client, listener, echo, day,
                       definitions or ContractDefinitions({}))  # fmt: skip
            for symbol in todo:
                job.run(reports[symbol], plans[symbol])
    return DownloadReport(tuple(reports.values()))


def _up_to_date(report: SymbolReport, echo: Callable[[str], None]) -> None:
    assert report.span is not None
    first, last = report.span
    _log().info("download.up_to_date", symbol=report.symbol, bar=report.bar, path=report.path)
    echo(f"{report.symbol} {report.bar}: up to date ({first:%Y-%m-%d} .. {last:%Y-%m-%d} "
         f"in {report.path}), nothing to fetch")  # fmt: skip


class DownloadListener:
    """IBClient's event sink for a download: no live data; keeps IB's error notices."""

    def __init__(self) -> None:
        self.notices: queue.SimpleQueue[Notice] = queue.SimpleQueue()

    def drain(self) -> list[Notice]:
        found = []
        while not self.notices.empty():
            found.append(self.notices.get_nowait())
        return found

    def on_notice(self, notice: Notice) -> None:
        self.notices.put(notice)

    def on_order(self, update: ib.OrderUpdate) -> None: ...
    def on_execution(self, execution: ib.Execution) -> None: ...
    def on_commission(self, commission: ib.Commission) -> None: ...
    def on_bar(self, bar: Bar) -> None: ...
    def on_quote(self, quote: ib.Quote) -> None: ...
    def on_account_value(self, tag: str, value: str, currency: str) -> None: ...
    def on_portfolio(self, line: ib.PortfolioLine) -> None: ...
    def on_disconnected(self) -> None: ...


def _default_factory(gateway: Gateway) -> ClientFactory:
    def make(listener: ClientListener) -> IBClient:
        return IBClient(listener, library=gateway.library,
                        request_timeout=gateway.request_timeout, name="ib-download")  # fmt: skip

    return make


@contextmanager
def _connected(client: IBClient, gateway: Gateway) -> Iterator[IBClient]:
    client.start()
    try:
        client.call(client.connect, gateway.host, gateway.port, gateway.client_id,
                    gateway.connect_timeout, timeout=gateway.connect_timeout + 5)  # fmt: skip
        _log().info("download.connected", gateway=str(gateway), library=client.library)
        yield client
    finally:
        client.stop()


@dataclass
class _Job:
    """One connected download: symbols one after another, sharing the pacer."""

    spec: DownloadSpec
    store: DataStore
    gateway: Gateway
    pacer: HistoryPacer
    client: IBClient
    listener: DownloadListener
    echo: Callable[[str], None]
    today: date
    definitions: ContractDefinitions
    log: structlog.stdlib.BoundLogger = field(default_factory=_log)

    def run(self, report: SymbolReport, ranges: list[FetchRange]) -> None:
        try:
            contract = self._qualify(report.symbol)
            for rng in ranges:
                self._fetch_range(report, contract, rng)
        except TraddError as exc:
            report.error = exc
            self.log.error("download.failed", symbol=report.symbol, bar=report.bar, error=str(exc))
            self.echo(f"{report.symbol} {report.bar}: FAILED: {exc}")
        except ConnectionError as exc:
            raise TemporaryError(f"lost the connection to IB at {self.gateway}: {exc}") from None
        if not self.client.connected():
            raise TemporaryError(f"lost the connection to IB at {self.gateway}")
        if report.error is None:
            self._summary(report)

    def _qualify(self, symbol: str) -> ContractInfo:
        self.listener.drain()
        try:
            defined = self.definitions.spec(symbol) if symbol in self.definitions else None
            return self.client.call(self.client.qualify, symbol, defined)
        except TemporaryError:
            unknown = [n for n in self.listener.drain() if n.code == UNKNOWN_CONTRACT]
            if unknown:
                raise DataError(f"{symbol}: unknown to IB (error {UNKNOWN_CONTRACT}: "
                                f"{unknown[-1].message})") from None  # fmt: skip
            raise

    def _fetch_range(self, report: SymbolReport, contract: ContractInfo, rng: FetchRange) -> None:
        pager = _Pager(self, contract)
        try:
            if self.spec.what == "ADJUSTED_LAST":
                pager.fetch_adjusted(rng)
            else:
                pager.fetch(rng)
        except (TraddError, ConnectionError, KeyboardInterrupt):  # keep pages leaving no hole
            if rng.keep_partial:
                self._merge(report, pager.bars_within(rng))
            raise
        finally:
            report.requests += pager.requests
        self._merge(report, pager.bars_within(rng))

    def _merge(self, report: SymbolReport, bars: Bars | None) -> None:
        if bars is None:
            return
        result = self.store.merge(report.symbol, report.bar, bars)
        report.added += result.rows_added
        report.replaced += result.rows_replaced
        report.total, report.path = result.total, str(result.path)
        if result.first is not None and result.last is not None:
            report.span = (result.first, result.last)

    def _summary(self, r: SymbolReport) -> None:
        self.log.info("download.done", symbol=r.symbol, bar=r.bar, requests=r.requests,
                      added=r.added, replaced=r.replaced, total=r.total, path=r.path)  # fmt: skip
        if not r.total:
            self.echo(f"{r.symbol} {r.bar}: no new bars from IB in {r.requests} request(s); "
                      f"{r.path} unchanged")  # fmt: skip
            return
        assert r.span is not None
        self.echo(f"{r.symbol} {r.bar}: added {r.added}, replaced {r.replaced} in {r.requests} "
                  f"request(s); {r.total} bars {r.span[0]:%Y-%m-%d} .. {r.span[1]:%Y-%m-%d} "
                  f"in {r.path}")  # fmt: skip


class _Pager:
    """Pages backwards through one range of one symbol, collecting bars by local time."""

    def __init__(self, job: _Job, contract: ContractInfo) -> None:
        self.job, self.contract = job, contract
        try:
            self.tz = ZoneInfo(contract.time_zone)
        except (ValueError, ZoneInfoNotFoundError):
            raise DataError(
                f"{contract.symbol}: unknown time zone {contract.time_zone!r}"
            ) from None
        self.step = STEPS[job.spec.bar]
        self.requests = 0
        self.collected: dict[datetime, Bar] = {}

    def fetch(self, rng: FetchRange) -> None:
        lo, page_end = rng.lo.replace(tzinfo=self.tz), rng.hi.replace(tzinfo=self.tz)
        up_to_now = rng.hi.date() > self.job.today  # ask for "now": IB refuses future ends
        while True:
            duration, reach = duration_for(page_end - lo, self.step)
            bars = self._page(None if up_to_now else page_end, duration)
            up_to_now = False
            if not bars:
                return  # IB has nothing older: the history starts here
            earliest = min(b.start for b in bars)
            if earliest <= lo or page_end - reach <= lo or earliest >= page_end:
                return
            page_end = earliest

    def fetch_adjusted(self, rng: FetchRange) -> None:
        """ADJUSTED_LAST is only served ending now: one request reaching back to rng.lo."""
        days = (self.job.today - rng.lo.date()).days + 1
        self._page(None, f"{days} D" if days < 365 else f"{math.ceil(days / 365)} Y")

    def bars_within(self, rng: FetchRange) -> Bars | None:
        """The collected bars in [rng.lo, rng.hi) as store bars; None if there are none."""
        stamps = sorted(t for t in self.collected if rng.lo <= t < rng.hi)
        if not stamps:
            return None
        values = np.array([[getattr(self.collected[t], name) for name in OHLCV] for t in stamps])
        values[:, 4] = np.maximum(values[:, 4], 0.0)  # IB sends -1 where volume is unknown
        times = np.array(stamps, dtype="datetime64[s]")
        o, h, lo, c, v = (values[:, i].copy() for i in range(5))
        return Bars(self.contract.symbol, self.job.spec.bar, times, o, h, lo, c, v)

    def _local(self, bar: Bar) -> datetime:
        local = bar.start.astimezone(self.tz).replace(tzinfo=None)
        return datetime.combine(local.date(), time()) if self.job.spec.bar == "1d" else local

    def _page(self, end: datetime | None, duration: str) -> tuple[Bar, ...]:
        job, spec, symbol = self.job, self.job.spec, self.contract.symbol
        local_end = end.astimezone(self.tz) if end else None
        end_text = f"{local_end:%Y-%m-%d %H:%M} {self.contract.time_zone}" if local_end else "now"
        what = (f"{symbol} {spec.bar}: {duration} of {self.step.ib_size} {spec.what} "
                f"bars ending {end_text}")  # fmt: skip
        key = (symbol, end.astimezone(UTC) if end else None, duration, self.step.ib_size,
               spec.what, spec.use_rth)  # fmt: skip
        call_timeout = job.gateway.request_timeout * 2 + 5

        def attempt() -> HistoryResult:
            self.requests += 1
            return job.client.call(job.client.history, symbol, end, duration, self.step.ib_size,
                                   spec.use_rth, spec.what, timeout=call_timeout)  # fmt: skip

        result = job.pacer.send(key, (symbol, "SMART", spec.what), attempt, _paced_out, what)
        bars = _usable_bars(result, what)
        if end is None and bars:  # ending now, IB's last bar may still be in progress
            bars = self._completed(bars)
        for bar in bars:
            self.collected.setdefault(self._local(bar), bar)
        self._report(what, bars)
        return bars

    def _completed(self, bars: tuple[Bar, ...]) -> tuple[Bar, ...]:
        """Without the bar still in progress on the gateway's clock: a daily bar counts as
        complete once its local day is over (a bar of today waits for the next download,
        which fetches the last stored day again anyway)."""
        now = self.job.client.call(self.job.client.server_time)
        return tuple(b for b in bars if self._bar_end(b) <= now)

    def _bar_end(self, bar: Bar) -> datetime:
        if bar.seconds < DAY_SECONDS:
            return bar.start + timedelta(seconds=bar.seconds)
        day = bar.start.astimezone(self.tz).date() + timedelta(days=1)
        return datetime.combine(day, time(), self.tz)

    def _report(self, what: str, bars: tuple[Bar, ...]) -> None:
        if bars:
            first, last = (self._local(b) for b in (bars[0], bars[-1]))
            shown = "%Y-%m-%d" if self.job.spec.bar == "1d" else "%Y-%m-%d %H:%M"
            got = f"{len(bars)} bars {first:{shown}} .. {last:{shown}}"
        else:
            got = "no bars (history ends)"
        self.job.log.info("download.request", request=what, bars=len(bars), n=self.requests)
        self.job.echo(f"  {what}: {got}")


def _is_162(notice: Notice, text: str) -> bool:
    return notice.code == 162 and text in notice.message.lower()


def _paced_out(result: HistoryResult) -> bool:
    return not result.bars and any(_is_162(n, "pacing violation") for n in result.errors)


def _usable_bars(result: HistoryResult, what: str) -> tuple[Bar, ...]:
    """The bars; none with "no data" (or no error) is the end of history; other errors fail."""
    if result.bars:
        return result.bars
    ignored = (NO_QUERY_FOUND,)
    failures = [n for n in result.errors if not _is_162(n, "no data") and n.code not in ignored]
    if failures:
        raise TemporaryError(f"{what}: IB error {failures[0].code}: {failures[0].message}")
    return ()
