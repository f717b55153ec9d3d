"""Data quality checks for `tradd data validate`.

Errors make data unusable for research (malformed rows, duplicates, disorder, impossible
prices, more sessions missing than `missing_sessions_error_pct`); warnings deserve a look
(missing sessions or bars, bars on days the market was closed, outlier returns: often an
unadjusted split). Every finding names the file line or the dates; the report keeps the
full lists for `--json`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from tradd.marketdata.calendars import TradingCalendar, calendar_for
from tradd.marketdata.contracts import default_spec
from tradd.marketdata.formats import ParsedFile, parse_file
from tradd.marketdata.gaps import (
    IntradayGaps,
    SessionGaps,
    intraday_gaps,
    session_days,
    session_gaps,
)

SHOWN_DATES = 20
SHOWN_RUNS = 20


@dataclass(frozen=True)
class QualityRules:
    outlier_sigma: float = 8.0
    max_gap_bars: int = 3
    """Intraday: a run of more than this many missing bars inside a session is listed."""
    missing_sessions_warn: int = 0
    """More missing sessions than this is a warning."""
    missing_sessions_error_pct: float = 5.0
    """More than this percentage of the expected sessions missing is an error."""


@dataclass
class QualityReport:
    symbol: str
    path: Path
    bar: str = ""
    bars: int = 0
    first: str = ""
    last: str = ""
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """What was not checked, and how bar times were read."""
    sessions: SessionGaps | None = None
    intraday: IntradayGaps | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        """Everything, with every date (the text output shortens long lists)."""
        holes = self.intraday
        return {
            "symbol": self.symbol, "path": str(self.path), "bar": self.bar,
            "bars": self.bars, "first": self.first, "last": self.last, "ok": self.ok,
            "errors": self.errors, "warnings": self.warnings, "notes": self.notes,
            "sessions": None if self.sessions is None else self.sessions.as_dict(),
            "intraday": None if holes is None else {
                "stamping": holes.stamping, "missing_bars": holes.total,
                "per_session": {d.isoformat(): n for d, n in sorted(holes.per_session.items())},
                "runs": [{"session": r.session.isoformat(), "count": r.count,
                          "first_missing": r.first_missing.isoformat(),
                          "last_missing": r.last_missing.isoformat()} for r in holes.runs],
            },
        }  # fmt: skip


def validate_file(
    path: Path,
    symbol: str,
    bar: str,
    rules: QualityRules,
    calendar: TradingCalendar | None = None,
) -> QualityReport:
    """Check one file; `calendar` defaults to that of the symbol's default definition."""
    parsed = parse_file(path)
    report = QualityReport(symbol, path, bar, bars=len(parsed.rows))
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
    _check_gaps(parsed, times, rules, report, calendar or calendar_for(default_spec(symbol)))
    _check_outliers(parsed, times, values[:, 3], lines, rules, report)
    return report


def shorten(days: tuple[date, ...] | list[date], shown: int = SHOWN_DATES) -> str:
    """'d1, d2, ...' with at most `shown` dates, then '... and N more'."""
    text = ", ".join(d.isoformat() for d in days[:shown])
    return text + (f" ... and {len(days) - shown} more" if len(days) > shown else "")


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
    parsed: ParsedFile,
    times: np.ndarray,
    rules: QualityRules,
    report: QualityReport,
    calendar: TradingCalendar,
) -> None:
    if report.bar in ("1w", "1mo"):
        report.notes.append(f"{report.bar} bars: no session check (a bar spans several sessions)")
        return
    order = np.argsort(times, kind="stable")
    ordered = times[order]
    gaps = session_gaps(session_days(ordered, report.bar, calendar), calendar)
    report.sessions = gaps
    report.notes += gaps.notes
    _report_sessions(gaps, rules, report)
    if report.bar == "1d":
        return
    holes = intraday_gaps(ordered, report.bar, calendar, rules.max_gap_bars)
    report.intraday = holes
    report.notes.append(f"bar times read as {holes.stamping}-stamped (decided from the data)")
    _report_runs(parsed, order, holes, report)


def _report_sessions(gaps: SessionGaps, rules: QualityRules, report: QualityReport) -> None:
    count = len(gaps.missing)
    if count > rules.missing_sessions_warn or gaps.missing_pct > rules.missing_sessions_error_pct:
        text = (
            f"{count} of {gaps.expected} {gaps.calendar} sessions missing between "
            f"{gaps.first} and {gaps.last} ({gaps.missing_pct:.1f}%): {shorten(gaps.missing)}"
        )
        if gaps.missing_pct > rules.missing_sessions_error_pct:
            limit = f"{rules.missing_sessions_error_pct:g}%"
            report.errors.append(f"{text} (more than data.missing_sessions_error_pct, {limit})")
        else:
            report.warnings.append(text)
    if gaps.extra:
        report.warnings.append(
            f"{len(gaps.extra)} bar date(s) on non-trading days of {gaps.calendar}: "
            f"{shorten(gaps.extra)}"
        )


def _report_runs(
    parsed: ParsedFile, order: np.ndarray, holes: IntradayGaps, report: QualityReport
) -> None:
    if not holes.runs:
        return
    sessions = len(holes.expected)
    worst = ", ".join(f"{d} ({n} of {holes.expected[d]})" for d, n in holes.worst(5))
    report.warnings.append(
        f"{holes.total} {report.bar} bar(s) missing within liquid hours in "
        f"{len(holes.per_session)} of {sessions} session(s) with bars; worst: {worst}"
    )
    for run in holes.runs[:SHOWN_RUNS]:
        if run.next_bar is None:  # no bar after it: the run reaches the close
            where, end = str(parsed.path), " (to the session's close)"
        else:
            where, end = _where(parsed, parsed.lines[int(order[run.next_bar])]), ""
        report.warnings.append(
            f"{where}: gap of {run.count} {report.bar} bar(s) in the {run.session} session, "
            f"{run.first_missing:%H:%M}..{run.last_missing:%H:%M}{end}"
        )
    if len(holes.runs) > SHOWN_RUNS:
        report.warnings.append(
            f"{parsed.path}: ... and {len(holes.runs) - SHOWN_RUNS} more gap(s) "
            "(all of them with --json)"
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
