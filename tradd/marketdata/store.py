"""The data directory: `<dir>/<SYMBOL>.<bar>.csv` in tradd's layout, one file per symbol and size.

`--symbols GOOG` resolves here, so research commands never take file paths, and
`tradd data import` / `tradd data download` are the only writers. Both go through the same
merge (rows at timestamps already present are replaced, all others kept) and the same
atomic write.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import numpy as np

from tradd.errors import DataError, UsageError
from tradd.marketdata.bars import BAR_SECONDS, Bars, normalize_symbol
from tradd.marketdata.formats import parse_file, require_clean, write_tradd_csv


@dataclass(frozen=True)
class ImportResult:
    symbol: str
    bar: str
    path: Path
    rows_read: int
    rows_added: int
    rows_replaced: int
    total: int
    layout: str
    first: datetime | None = None
    """First and last bar of the file after the merge (exchange-local)."""
    last: datetime | None = None


class DataStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path_for(self, symbol: str, bar: str) -> Path:
        if bar not in BAR_SECONDS:
            raise UsageError(f"unknown bar size {bar!r}; use one of {', '.join(BAR_SECONDS)}")
        return self.directory / f"{normalize_symbol(symbol)}.{bar}.csv"

    def symbols(self, bar: str | None = None) -> list[tuple[str, str]]:
        """(symbol, bar) pairs present in the directory."""
        found = []
        for path in sorted(self.directory.glob("*.csv")):
            symbol, _, size = path.name[: -len(".csv")].rpartition(".")
            if symbol and size in BAR_SECONDS and (bar is None or size == bar):
                found.append((symbol, size))
        return found

    def load(
        self, symbol: str, bar: str, start: date | None = None, end: date | None = None
    ) -> Bars:
        """Bars of one symbol, sorted, clipped to [start, end]. Raises DataError if unusable."""
        path = self.path_for(symbol, bar)
        if not path.is_file():
            have = ", ".join(f"{s}.{b}" for s, b in self.symbols()) or "nothing"
            raise DataError(
                f"no {bar} data for {normalize_symbol(symbol)} in {self.directory} "
                f"(expected {path.name}; have {have}); import it with `tradd data import`"
            )
        parsed = parse_file(path)
        require_clean(parsed)
        bars = _sorted_unique(parsed.to_bars(normalize_symbol(symbol), bar), path)
        if len(bars) == 0:
            raise DataError(f"{path}: no bars")
        clipped = bars.between(start, end)
        if len(clipped) == 0:
            raise DataError(
                f"{normalize_symbol(symbol)}: no bars between {start or 'start'} and "
                f"{end or 'end'}; the data covers {bars.first:%Y-%m-%d} .. {bars.last:%Y-%m-%d}"
            )
        return clipped

    def import_file(
        self, source: Path, symbol: str, *, bar: str | None = None, adjust: bool = False
    ) -> ImportResult:
        """Merge a file into the store; rows at timestamps already present are replaced."""
        parsed = parse_file(source, adjust=adjust)
        require_clean(parsed)
        if not parsed.rows:
            raise DataError(f"{source}: no data rows")
        incoming = _sorted_unique(parsed.to_bars(normalize_symbol(symbol), bar), source)
        target = self.path_for(symbol, incoming.bar)
        self.directory.mkdir(parents=True, exist_ok=True)
        existing = self.load(symbol, incoming.bar) if target.is_file() else None
        merged, added, replaced = _merge(existing, incoming)
        write_tradd_csv(target, merged)
        return ImportResult(
            merged.symbol,
            merged.bar,
            target,
            len(parsed.rows),
            added,
            replaced,
            len(merged),
            parsed.layout,
            merged.first,
            merged.last,
        )

    def span(self, symbol: str, bar: str) -> tuple[datetime, datetime] | None:
        """First and last bar time in the file (exchange-local), or None if there is no file."""
        if not self.path_for(symbol, bar).is_file():
            return None
        bars = self.load(symbol, bar)
        return bars.first, bars.last

    def merge(self, symbol: str, bar: str, bars: Bars, *, source: str = "ib") -> ImportResult:
        """Merge bars (e.g. downloaded) into the file, as `import_file` does with a file's rows.

        `bars` need not be sorted; duplicate timestamps among them are a DataError.
        """
        name = normalize_symbol(symbol)
        target = self.path_for(name, bar)
        incoming = _sorted_unique(
            Bars(name, bar, bars.time, bars.open, bars.high, bars.low, bars.close, bars.volume),
            Path(f"<{source} bars for {name} {bar}>"),
        )
        if len(incoming) == 0:
            raise DataError(f"{name} {bar}: no bars to merge")
        self.directory.mkdir(parents=True, exist_ok=True)
        existing = self.load(name, bar) if target.is_file() else None
        merged, added, replaced = _merge(existing, incoming)
        write_tradd_csv(target, merged)
        return ImportResult(
            name, bar, target, len(incoming), added, replaced, len(merged), source,
            merged.first, merged.last,
        )  # fmt: skip


def _sorted_unique(bars: Bars, path: Path) -> Bars:
    order = np.argsort(bars.time, kind="stable")
    ordered = bars.take(order)
    duplicated = np.flatnonzero(np.diff(ordered.time).astype(np.int64) == 0)
    if len(duplicated):
        stamp = np.datetime_as_string(ordered.time[duplicated[0]], unit="s")
        raise DataError(
            f"{path}: {len(duplicated)} duplicate timestamp(s), first at {stamp}; "
            f"run `tradd data validate` for the lines"
        )
    return ordered


def _merge(existing: Bars | None, incoming: Bars) -> tuple[Bars, int, int]:
    if existing is None:
        return incoming, len(incoming), 0
    keep_old = ~np.isin(existing.time, incoming.time)
    replaced = int(len(existing) - keep_old.sum())
    old = existing.take(keep_old)
    columns = [
        np.concatenate([getattr(old, name), getattr(incoming, name)])
        for name in ("time", "open", "high", "low", "close", "volume")
    ]
    order = np.argsort(columns[0], kind="stable")
    merged = Bars(incoming.symbol, incoming.bar, *(c[order] for c in columns))
    return merged, len(incoming) - replaced, replaced
