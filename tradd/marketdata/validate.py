"""Data quality checks for `tradd data validate`.

Errors make data unusable for research (malformed rows, duplicates, disorder, impossible
prices); warnings deserve a look (gaps, outlier returns: often an unadjusted split).
Every finding names the file line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tradd.marketdata.bars import BAR_SECONDS
from tradd.marketdata.formats import ParsedFile, parse_file


@dataclass(frozen=True)
class QualityRules:
    outlier_sigma: float = 8.0
    max_gap_bars: int = 3


@dataclass
class QualityReport:
    symbol: str
    path: Path
    bars: int = 0
    first: str = ""
    last: str = ""
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def validate_file(path: Path, symbol: str, bar: str, rules: QualityRules) -> QualityReport:
    parsed = parse_file(path)
    report = QualityReport(symbol, path, bars=len(parsed.rows))
    report.errors += [str(p) for p in parsed.problems]
    if not parsed.rows:
        report.errors.append(f"{path}: no data rows")
        return report
    times = np.array(parsed.times, dtype="datetime64[s]")
    report.first = str(times.min())
    report.last = str(times.max())
    values = np.array(parsed.rows, dtype=np.float64)
    lines = np.array(parsed.lines)
    _check_order(parsed, times, report)
    _check_prices(parsed, values, lines, report)
    _check_gaps(parsed, times, bar, rules, report)
    _check_outliers(parsed, times, values[:, 3], lines, rules, report)
    return report


def _where(parsed: ParsedFile, line: int) -> str:
    return f"{parsed.path}:{line}"


def _check_order(parsed: ParsedFile, times: np.ndarray, report: QualityReport) -> None:
    seen: dict[np.datetime64, int] = {}
    for i, stamp in enumerate(times):
        line = parsed.lines[i]
        if stamp in seen:
            report.errors.append(
                f"{_where(parsed, line)}: duplicate timestamp {stamp} (first at line {seen[stamp]})"
            )
        else:
            seen[stamp] = line
        if i and stamp < times[i - 1]:
            report.errors.append(f"{_where(parsed, line)}: {stamp} is earlier than the row before")


def _check_prices(
    parsed: ParsedFile, values: np.ndarray, lines: np.ndarray, report: QualityReport
) -> None:
    o, h, lo, c, v = values.T
    checks = [
        ((values[:, :4] <= 0).any(axis=1), "non-positive price"),
        (h < lo, "high below low"),
        ((c > h) | (c < lo), "close outside the high-low range"),
        ((o > h) | (o < lo), "open outside the high-low range"),
        (v < 0, "negative volume"),
    ]
    for mask, message in checks:
        for i in np.flatnonzero(mask):
            row = values[i]
            report.errors.append(
                f"{_where(parsed, int(lines[i]))}: {message} "
                f"(O={row[0]:g} H={row[1]:g} L={row[2]:g} C={row[3]:g} V={row[4]:g})"
            )


def _check_gaps(
    parsed: ParsedFile, times: np.ndarray, bar: str, rules: QualityRules, report: QualityReport
) -> None:
    order = np.argsort(times, kind="stable")
    ordered = times[order]
    if bar == "1d":
        days = ordered.astype("datetime64[D]")
        missing = np.busday_count(days[:-1], days[1:]) - 1
    else:
        same_day = ordered[:-1].astype("datetime64[D]") == ordered[1:].astype("datetime64[D]")
        spacing = np.diff(ordered).astype("timedelta64[s]").astype(np.int64)
        missing = np.where(same_day, spacing // BAR_SECONDS[bar] - 1, 0)
    unit = "business day(s)" if bar == "1d" else f"{bar} bar(s)"
    for i in np.flatnonzero(missing > rules.max_gap_bars):
        line = parsed.lines[int(order[i + 1])]
        report.warnings.append(
            f"{_where(parsed, line)}: gap of {int(missing[i])} {unit} "
            f"between {ordered[i]} and {ordered[i + 1]}"
        )


def _check_outliers(
    parsed: ParsedFile,
    times: np.ndarray,
    close: np.ndarray,
    lines: np.ndarray,
    rules: QualityRules,
    report: QualityReport,
) -> None:
    order = np.argsort(times, kind="stable")
    prices = close[order]
    if len(prices) < 3 or (prices <= 0).any():
        return  # non-positive prices are already errors; returns would be meaningless
    returns = np.diff(np.log(prices))
    std = returns.std()
    if std == 0:
        return
    z = (returns - returns.mean()) / std
    for i in np.flatnonzero(np.abs(z) > rules.outlier_sigma):
        line = int(lines[order[i + 1]])
        report.warnings.append(
            f"{_where(parsed, line)}: outlier return {np.expm1(returns[i]):+.1%} "
            f"({z[i]:+.1f} sigma) on {times[order[i + 1]]}; an unadjusted split?"
        )
