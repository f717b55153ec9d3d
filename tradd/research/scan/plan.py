"""What a scan runs: the request as given, and the plan its worker processes inherit.

Default period: when --end is left out, the scan ends at the last day every symbol with
data has a bar for (the earliest of their last bars), and when --start is left out it
starts 365 days (both ends included) before the end. Not "the last year before today":
data on disk (the shipped samples end in 2013-2015) may stop long before today, and a year
of nothing would score nothing. The earliest last bar, not the latest, so that all symbols
are scanned over the same days and none fails for want of recent data; when their data
ends on different days the scan says so (`Period.note`). A symbol without any data fails
on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import backtrader as bt

from tradd.errors import DataError, UsageError
from tradd.marketdata.bars import normalize_symbol
from tradd.marketdata.contracts import ContractDefinitions
from tradd.marketdata.store import DataStore
from tradd.research.broker import BrokerConfig

DEFAULT_DAYS = 365


@dataclass(frozen=True)
class ScanRequest:
    symbols: tuple[str, ...]
    strategies: tuple[str, ...]
    """Dotted paths, or `all` for every class in the `strategies` package."""
    start: date | None
    end: date | None
    bar: str
    broker: BrokerConfig
    output: Path
    risk_free_rate: float = 0.0
    workers: int | None = None
    confirm: int | None = None
    """Screen with the strategies' kernels and confirm this many best rows (and each
    symbol's best) in Backtrader; None (`--no-kernel`): every row in Backtrader."""


@dataclass(frozen=True)
class Period:
    start: date
    end: date
    defaulted: bool = False
    """True when --start or --end was filled in from the data (see the module doc)."""
    note: str | None = None
    """Why the default end is where it is, when the symbols' data ends on different days."""

    def as_dict(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}


@dataclass(frozen=True)
class ScanPlan:
    """Everything a worker needs; forked workers inherit it (classes included) as is."""

    symbols: tuple[str, ...]
    strategies: tuple[tuple[str, type[bt.Strategy]], ...]
    period: Period
    bar: str
    broker: BrokerConfig
    store: DataStore
    risk_free_rate: float
    definitions: ContractDefinitions = field(default_factory=lambda: ContractDefinitions({}))
    """Each symbol's calendar (its return basis) comes from these."""
    confirm: int | None = None
    """As `ScanRequest.confirm` (`tradd.research.scan.staged`)."""

    @property
    def total(self) -> int:
        return len(self.symbols) * len(self.strategies)


def scan_symbols(symbols: tuple[str, ...]) -> tuple[str, ...]:
    if not symbols:
        raise UsageError("--symbols: give at least one symbol")
    return tuple(dict.fromkeys(normalize_symbol(s) for s in symbols))


def resolve_period(
    symbols: tuple[str, ...], start: date | None, end: date | None, bar: str, store: DataStore
) -> Period:
    if start is not None and end is not None:
        if start > end:
            raise UsageError(f"--start {start} is after --end {end}")
        return Period(start, end)
    note = None
    if end is None:
        end, note = common_last_day(symbols, bar, store)
    if start is None:
        start = end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise UsageError(f"--start {start} is after the last bar of the symbols ({end})")
    return Period(start, end, defaulted=True, note=note)


def common_last_day(
    symbols: tuple[str, ...], bar: str, store: DataStore
) -> tuple[date, str | None]:
    """The earliest last-bar day among the symbols that have usable data, and a note
    naming each symbol's last day when they differ."""
    days: dict[str, date] = {}
    problems: list[str] = []
    for symbol in symbols:
        try:
            span = store.span(symbol, bar)
        except DataError as exc:
            problems.append(str(exc))
            continue
        if span is None:
            problems.append(f"no {bar} data for {symbol}")
        else:
            days[symbol] = span[1].date()
    if not days:
        raise DataError(
            f"none of the symbols has {bar} data in {store.directory}: {'; '.join(problems)}"
        )
    end = min(days.values())
    note = None
    if len(set(days.values())) > 1:
        each = ", ".join(f"{s} {d}" for s, d in days.items())
        note = f"the symbols' data ends on different days ({each}): the period ends at the earliest"
    return end, note
