"""What `tradd data download` fetches: the request, its validation and the page plan.

Pure (no IB, no files): which ranges a file lacks for a request, and the IB durations
that cover them page by page within IB's limits per bar size.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from tradd.errors import DataError, TemporaryError, TraddError, UsageError
from tradd.ib.client import IBClient
from tradd.ib.types import ClientListener
from tradd.marketdata.bars import normalize_symbol

WHAT_TO_SHOW = ("TRADES", "MIDPOINT", "ADJUSTED_LAST")
UNKNOWN_CONTRACT = 200
NO_QUERY_FOUND = 366  # IB's answer to cancelling a request that already ended
DAY = timedelta(days=1)
OHLCV = ("open", "high", "low", "close", "volume")


@dataclass(frozen=True)
class BarStep:
    """IB's bar size name, and the longest duration one request may cover for it."""

    ib_size: str
    longest: str
    reach: timedelta
    """The calendar span `longest` surely covers (a month is at least 28 days)."""


STEPS = {
    "1d": BarStep("1 day", "1 Y", timedelta(days=365)),
    "1h": BarStep("1 hour", "1 M", timedelta(days=28)),
    "1m": BarStep("1 min", "1 W", timedelta(days=7)),
}
"""IB's documented maxima per request; tradd.simgw.history accepts these (far below MAX_BARS)."""


@dataclass(frozen=True)
class DownloadSpec:
    """What to fetch. Dates are whole exchange-local days, both inclusive."""

    symbols: tuple[str, ...]
    start: date
    end: date
    bar: str = "1d"
    what: str = "TRADES"
    use_rth: bool = True

    def __post_init__(self) -> None:
        if not self.symbols:
            raise UsageError("--symbols: give at least one symbol")
        names = tuple(dict.fromkeys(normalize_symbol(s) for s in self.symbols))
        object.__setattr__(self, "symbols", names)
        if self.bar not in STEPS:
            raise UsageError(f"--bar {self.bar}: download supports {', '.join(STEPS)}")
        object.__setattr__(self, "what", self.what.strip().upper())
        if self.what not in WHAT_TO_SHOW:
            raise UsageError(f"--what {self.what}: use one of {', '.join(WHAT_TO_SHOW)}")
        if self.what == "ADJUSTED_LAST" and self.bar != "1d":
            raise UsageError(f"--what ADJUSTED_LAST: only with --bar 1d, not {self.bar}")
        if self.start > self.end:
            raise UsageError(f"--start {self.start}: after --end {self.end}")


@dataclass(frozen=True)
class Gateway:
    host: str
    port: int
    client_id: int
    connect_timeout: float = 10.0
    request_timeout: float = 30.0
    library: str = "auto"

    def __post_init__(self) -> None:
        if not 1 <= self.port <= 65535:
            raise UsageError(f"--port {self.port}: must be 1..65535")
        if self.client_id < 0:
            raise UsageError(f"--client-id {self.client_id}: must be >= 0")

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class FetchRange:
    """[lo, hi) in naive exchange-local time; `keep_partial`: pages adjoin the data at hi."""

    lo: datetime
    hi: datetime
    keep_partial: bool


@dataclass
class SymbolReport:
    symbol: str
    bar: str
    path: str = ""
    requests: int = 0
    added: int = 0
    replaced: int = 0
    total: int = 0
    span: tuple[datetime, datetime] | None = None
    """First and last bar of the file afterwards."""
    error: TraddError | None = None


@dataclass(frozen=True)
class DownloadReport:
    symbols: tuple[SymbolReport, ...]

    @property
    def requests(self) -> int:
        return sum(s.requests for s in self.symbols)

    @property
    def failures(self) -> tuple[SymbolReport, ...]:
        return tuple(s for s in self.symbols if s.error is not None)

    def raise_for_failures(self) -> None:
        """DataError (65) if every failure is a data problem (e.g. unknown symbol), else
        TemporaryError (1): all failures are named."""
        failed = self.failures
        if not failed:
            return
        message = "; ".join(str(s.error) for s in failed)
        if all(isinstance(s.error, DataError) for s in failed):
            raise DataError(f"download failed for {len(failed)} symbol(s): {message}")
        raise TemporaryError(f"download failed for {len(failed)} symbol(s): {message}")


ClientFactory = Callable[[ClientListener], IBClient]


def plan_ranges(
    span: tuple[datetime, datetime] | None, spec: DownloadSpec, today: date
) -> list[FetchRange]:
    """The ranges a file with bars `span` (first, last) lacks for `spec`; tail first."""
    lo = datetime.combine(spec.start, time())
    hi = datetime.combine(spec.end + DAY, time())
    if span is None or spec.what == "ADJUSTED_LAST":  # adjustments rewrite earlier prices
        return [FetchRange(lo, hi, keep_partial=True)]
    first, last = span
    ranges = []
    if last.date() < spec.end or today <= spec.end == last.date():
        ranges.append(FetchRange(max(last, lo), hi, keep_partial=False))
    if spec.start < first.date():
        ranges.append(FetchRange(lo, min(first, hi), keep_partial=True))
    return ranges


def duration_for(span: timedelta, step: BarStep) -> tuple[str, timedelta]:
    """The shortest IB duration covering `span` (whole days), capped at the step's longest."""
    days = max(1, math.ceil(span / DAY))
    if timedelta(days=days) < step.reach:
        return f"{days} D", timedelta(days=days)
    return step.longest, step.reach
