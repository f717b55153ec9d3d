"""Read the CSV layouts traders have, and write tradd's own.

Recognised by header (case-insensitive):
- Yahoo:         Date,Open,High,Low,Close[,Adj Close],Volume
- Backtrader:    Date,Time,Open,High,Low,Close,Volume,OpenInterest (generic CSV)
- pandas index:  ,Open,High,Low,Close,Volume (the date in an unnamed first column)
- tradd:         datetime,open,high,low,close,volume (what `tradd data import` writes)

Every malformed row is reported with its file and line number; none is dropped quietly.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from tradd.errors import DataError
from tradd.marketdata.bars import Bars, infer_bar
from tradd.marketdata.fastcsv import FloatArray, TimeArray, read_columns, split_regular

TRADD_HEADER = ("datetime", "open", "high", "low", "close", "volume")
PRICE_COLUMNS = ("open", "high", "low", "close")
MAX_SHOWN_PROBLEMS = 10


@dataclass(frozen=True)
class RowProblem:
    path: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass
class ParsedFile:
    path: Path
    layout: str
    times: list[datetime] = field(default_factory=list)
    rows: list[tuple[float, float, float, float, float]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    """Source line of each row, so later checks can point at the file."""
    problems: list[RowProblem] = field(default_factory=list)
    columns: tuple[TimeArray, FloatArray] | None = field(default=None, repr=False, compare=False)
    """`times` and `rows` as arrays, when the file was read a column at a time: converting
    tens of thousands of datetimes back to numpy would cost more than reading them."""

    def to_bars(self, symbol: str, bar: str | None = None) -> Bars:
        """Column arrays in file order (validation reports disorder; loading sorts)."""
        if self.columns is not None:
            time, values = self.columns[0].copy(), self.columns[1]
        else:
            values = np.array(self.rows, dtype=np.float64).reshape(-1, 5)
            time = np.array(self.times, dtype="datetime64[s]")
        return Bars(
            symbol,
            bar or infer_bar(np.sort(time), str(self.path)),
            time,
            values[:, 0].copy(),
            values[:, 1].copy(),
            values[:, 2].copy(),
            values[:, 3].copy(),
            values[:, 4].copy(),
        )


@dataclass(frozen=True)
class _Layout:
    name: str
    columns: dict[str, int]
    width: int

    def has(self, name: str) -> bool:
        return name in self.columns


def parse_file(path: Path, *, adjust: bool = False) -> ParsedFile:
    """Parse a bar file; row problems are collected in the result, not raised.

    A well-formed file is read a column at a time (`fastcsv`); any other file, and any
    file with a problem, row by row, so what is reported is always the row parser's."""
    fast = _parse_regular(path, adjust)
    return fast if fast is not None else parse_file_by_rows(path, adjust=adjust)


def parse_file_by_rows(path: Path, *, adjust: bool = False) -> ParsedFile:
    """`parse_file` without the column-at-a-time path: the reference it must agree with."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            return parse_lines(path, fh, adjust=adjust)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not a text file ({exc.reason})") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc.strerror}") from None


def parse_lines(path: Path, lines: Iterable[str], *, adjust: bool = False) -> ParsedFile:
    reader = csv.reader(lines)
    header = next(reader, None)
    if header is None:
        raise DataError(f"{path}:1: empty file, expected a header line")
    layout = _detect_layout(path, header)
    if adjust and not layout.has("adj close"):
        raise DataError(f"{path}: --adjust needs an 'Adj Close' column")
    parsed = ParsedFile(path, layout.name)
    for line_no, row in _numbered(reader):
        _parse_row(parsed, layout, row, line_no, adjust)
    return parsed


def _parse_regular(path: Path, adjust: bool) -> ParsedFile | None:
    """The file read a column at a time, or None if the row parser must read it."""
    split = None if adjust else _read_regular(path)  # the row parser adjusts
    layout = None if split is None else _regular_layout(path, split[0])
    if split is None or layout is None:
        return None
    cols = layout.columns
    when = cols["datetime"] if "datetime" in cols else cols["date"]
    names = [*PRICE_COLUMNS, "volume"]
    read = read_columns(split[1], layout.width, when, [cols.get(n) for n in names])
    if read is None:
        return None
    time, values = read
    return ParsedFile(
        path,
        layout.name,
        times=time.tolist(),
        rows=list(zip(*(values[:, k].tolist() for k in range(5)), strict=True)),
        lines=list(range(2, len(values) + 2)),
        columns=(time, values),
    )


def _read_regular(path: Path) -> tuple[str, list[str]] | None:
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError):
        return None  # the row parser reports it, as it always has
    return split_regular(text)


def _regular_layout(path: Path, header: str) -> _Layout | None:
    """The layout of a header the row parser accepts, with the time in one column."""
    try:
        layout = _detect_layout(path, header.split(","))
    except DataError:
        return None
    return None if "time" in layout.columns else layout


def _numbered(reader: Iterator[list[str]]) -> Iterator[tuple[int, list[str]]]:
    # csv.reader.line_num counts physical lines, which is what an editor shows.
    for row in reader:
        if row and any(cell.strip() for cell in row):
            yield reader.line_num, row  # type: ignore[attr-defined]


def _detect_layout(path: Path, header: list[str]) -> _Layout:
    names = [h.strip().lower() for h in header]
    if names and names[0] == "":
        names[0] = "date"
    columns = {name: i for i, name in enumerate(names)}
    missing = [c for c in PRICE_COLUMNS if c not in columns]
    has_time = "datetime" in columns or "date" in columns
    if missing or not has_time:
        need = ", ".join(missing + ([] if has_time else ["date or datetime"]))
        raise DataError(f"{path}:1: unrecognised header {','.join(header)!r} (missing {need})")
    if "datetime" in columns and names[0] == "datetime" and "openinterest" not in columns:
        name = "tradd"
    elif "time" in columns:
        name = "backtrader"
    elif header[0].strip() == "":
        name = "pandas-index"
    else:
        name = "yahoo" if "adj close" in columns else "generic"
    return _Layout(name, columns, len(header))


def _parse_row(
    parsed: ParsedFile, layout: _Layout, row: list[str], line_no: int, adjust: bool
) -> None:
    if len(row) != layout.width:
        parsed.problems.append(
            RowProblem(
                parsed.path,
                line_no,
                f"expected {layout.width} fields as in the header, found {len(row)}",
            )
        )
        return
    try:
        when = _parse_time(layout, row)
        prices = [_number(row, layout.columns[c], c) for c in PRICE_COLUMNS]
        volume = _number(row, layout.columns["volume"], "volume") if layout.has("volume") else 0.0
        if adjust:
            prices, volume = _adjusted(
                prices, volume, _number(row, layout.columns["adj close"], "adj close")
            )
    except ValueError as exc:
        parsed.problems.append(RowProblem(parsed.path, line_no, str(exc)))
        return
    parsed.times.append(when)
    parsed.rows.append((prices[0], prices[1], prices[2], prices[3], volume))
    parsed.lines.append(line_no)


def _number(row: list[str], index: int, name: str) -> float:
    text = row[index].strip()
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{name}: not a number: {text!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"{name}: not a finite number: {text!r}")
    return value


def _adjusted(prices: list[float], volume: float, adj_close: float) -> tuple[list[float], float]:
    """Scale OHLC by Adj Close / Close so splits and dividends do not show as jumps."""
    close = prices[3]
    if close <= 0:
        raise ValueError(f"close: must be positive to adjust, got {close}")
    factor = adj_close / close
    return [p * factor for p in prices], volume / factor if factor else volume


def _parse_time(layout: _Layout, row: list[str]) -> datetime:
    cols = layout.columns
    if "datetime" in cols:
        text = row[cols["datetime"]].strip()
    else:
        text = row[cols["date"]].strip()
        if "time" in cols:
            text = f"{text}T{row[cols['time']].strip()}"
    try:
        return _parse_datetime_text(text)
    except ValueError:
        raise ValueError(f"date/time: not a valid timestamp: {text!r}") from None


def _parse_datetime_text(text: str) -> datetime:
    if len(text) == 8 and text.isdigit():
        return datetime.strptime(text, "%Y%m%d")
    value = datetime.fromisoformat(text.replace(" ", "T", 1))
    return value.replace(tzinfo=None) if value.tzinfo else value


def require_clean(parsed: ParsedFile) -> None:
    """Raise a DataError naming the first malformed rows, if there are any."""
    if not parsed.problems:
        return
    shown = "; ".join(str(p) for p in parsed.problems[:MAX_SHOWN_PROBLEMS])
    more = len(parsed.problems) - MAX_SHOWN_PROBLEMS
    suffix = f" (and {more} more)" if more > 0 else ""
    raise DataError(f"{len(parsed.problems)} malformed row(s): {shown}{suffix}")


def write_tradd_csv(path: Path, bars: Bars) -> None:
    """Write bars in tradd's own layout, atomically (a crash never leaves half a file)."""
    daily = not bars.intraday
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(TRADD_HEADER)
        for i in range(len(bars)):
            stamp = np.datetime_as_string(bars.time[i], unit="D" if daily else "s")
            writer.writerow(
                (
                    stamp,
                    repr(float(bars.open[i])),
                    repr(float(bars.high[i])),
                    repr(float(bars.low[i])),
                    repr(float(bars.close[i])),
                    repr(float(bars.volume[i])),
                )
            )
    tmp.replace(path)
