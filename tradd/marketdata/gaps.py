"""Missing data found with the symbol's exchange calendar.

A gap in the bars is only a hole if the market was open: the calendar (holidays,
closures such as 2012-10-29/30 at the NYSE, half days) says which sessions a file
should have between its first and last bar, and, for intraday bars, which bar times
each session's liquid hours hold. `tradd data validate` reports both; research runs
(`tradd backtest`) use `missing_sessions` to warn before measuring a holed series.

Intraday bar time stamps: a bar may be stamped at its start (IB: 09:30 is the bar
09:30-09:31) or at its end (the Backtrader samples: 09:01 is 09:00-09:01). The file
decides: a bar at a session's opening time means start-stamped, otherwise end-stamped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np
import numpy.typing as npt

from tradd.marketdata.bars import BAR_SECONDS, SESSION_OR_LONGER, Bars
from tradd.marketdata.calendars import TradingCalendar, calendar_bounds

TimeArray = npt.NDArray[np.datetime64]


@dataclass(frozen=True)
class SessionGaps:
    """Sessions of the calendar between a file's first and last bar, against its bars."""

    calendar: str
    first: date
    last: date
    expected: int
    """Sessions of the calendar from `first` to `last` (the checked range)."""
    missing: tuple[date, ...] = ()
    """Sessions with no bar."""
    extra: tuple[date, ...] = ()
    """Dates with bars on which the calendar has no session."""
    notes: tuple[str, ...] = ()
    """What was not checked and why (the calendar's bounds)."""

    @property
    def missing_pct(self) -> float:
        return 100.0 * len(self.missing) / self.expected if self.expected else 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "calendar": self.calendar,
            "first": self.first.isoformat(),
            "last": self.last.isoformat(),
            "expected": self.expected,
            "count": len(self.missing),
            "dates": [d.isoformat() for d in self.missing],
            "non_session_days": [d.isoformat() for d in self.extra],
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class BarRun:
    """Consecutive bar times missing inside one session's liquid hours."""

    session: date
    count: int
    first_missing: datetime
    last_missing: datetime
    next_bar: int | None
    """Index (in time order) of the bar after the run; None at the session's end."""


@dataclass
class IntradayGaps:
    """Bars missing within the liquid hours of the sessions that have bars."""

    stamping: str
    """"start" or "end": which end of its interval a bar's time stamp marks."""
    per_session: dict[date, int] = field(default_factory=dict)
    """Missing bar count of each session with any missing (sessions with bars only)."""
    expected: dict[date, int] = field(default_factory=dict)
    runs: list[BarRun] = field(default_factory=list)
    outside: int = 0
    """Bars outside liquid hours or off the bar grid (not counted as present)."""

    @property
    def total(self) -> int:
        return sum(self.per_session.values())

    def worst(self, n: int) -> list[tuple[date, int]]:
        return sorted(self.per_session.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


def session_days(time: TimeArray, bar: str, calendar: TradingCalendar) -> list[date]:
    """The distinct session dates of the bars (intraday: the calendar's session dating)."""
    daily = bar in SESSION_OR_LONGER
    keys = time.astype("datetime64[D]") if daily else calendar.session_keys(time)
    return [d.item() for d in np.unique(keys)]


def session_gaps(days: list[date], calendar: TradingCalendar) -> SessionGaps:
    """Compare sorted distinct bar dates with the calendar's sessions between them."""
    first, last = days[0], days[-1]
    lo, hi, notes = _checkable(calendar.name, first, last)
    if lo > hi:
        return SessionGaps(calendar.name, first, last, 0, notes=notes)
    sessions = calendar.session_dates(lo, hi)
    have = {d for d in days if lo <= d <= hi}
    expected = set(sessions)
    return SessionGaps(
        calendar.name,
        lo,
        hi,
        len(sessions),
        tuple(d for d in sessions if d not in have),
        tuple(sorted(have - expected)),
        notes,
    )


def missing_sessions(bars: Bars, calendar: TradingCalendar) -> SessionGaps | None:
    """The sessions a research run's bars lack; None for weekly or monthly bars (a bar
    spans many sessions) or no bars."""
    if bars.bar in ("1w", "1mo") or len(bars) == 0:
        return None
    return session_gaps(session_days(bars.time, bars.bar, calendar), calendar)


def intraday_gaps(
    time: TimeArray, bar: str, calendar: TradingCalendar, min_run: int
) -> IntradayGaps:
    """Missing bars per session within liquid hours; runs longer than `min_run` listed.

    `time` must be sorted. Only sessions with at least one bar are looked at (a session
    with none is a missing session).
    """
    step = np.timedelta64(BAR_SECONDS[bar], "s")
    stamps = time.astype("datetime64[s]")
    keys = calendar.session_keys(stamps)
    days, starts = np.unique(keys, return_index=True)
    bounds = list(zip(starts, [*starts[1:], len(stamps)], strict=True))
    lo, hi, _ = _checkable(calendar.name, days[0].item(), days[-1].item())
    sessions = set(calendar.session_dates(lo, hi)) if lo <= hi else set()
    hours = {d.item(): _hours(calendar, d.item(), sessions) for d in days}
    stamping = _stamping(stamps, keys, hours)
    result = IntradayGaps(stamping)
    for day, (i, j) in zip((d.item() for d in days), bounds, strict=True):
        span = hours[day]
        if span is None:  # not a session: reported as a bar on a non-trading day
            continue
        grid = _grid(span, step, stamping)
        present = np.isin(grid, stamps[i:j])
        result.outside += int((j - i) - np.count_nonzero(present))
        result.expected[day] = len(grid)
        missing = np.flatnonzero(~present)
        if len(missing) == 0:
            continue
        result.per_session[day] = len(missing)
        result.runs += _runs(day, grid, missing, stamps, i, j, min_run)
    return result


def _checkable(name: str, first: date, last: date) -> tuple[date, date, tuple[str, ...]]:
    """`first`..`last` clipped to what the calendar knows, with a note for each cut."""
    low, high = calendar_bounds(name)
    notes = []
    lo, hi = first, last
    margin = timedelta(days=7)  # the calendar is built with a week's margin each side
    if low is not None and first < low + margin:
        lo = low + margin
        notes.append(f"sessions before {lo} not checked: the {name} calendar starts at {low}")
    if high is not None and last > high - margin:
        hi = high - margin
        notes.append(f"sessions after {hi} not checked: the {name} calendar ends at {high}")
    return lo, hi, tuple(notes)


def _hours(
    calendar: TradingCalendar, day: date, sessions: set[date]
) -> tuple[np.datetime64, np.datetime64] | None:
    if day not in sessions:
        return None
    start, end = calendar.session_hours(day)
    return np.datetime64(start, "s"), np.datetime64(end, "s")


def _stamping(
    stamps: TimeArray,
    keys: TimeArray,
    hours: dict[date, tuple[np.datetime64, np.datetime64] | None],
) -> str:
    """ "start" if some bar sits at its session's opening time, else "end"."""
    for day, span in hours.items():
        if span is None:
            continue
        mask = keys == np.datetime64(day, "D")
        if np.any(stamps[mask] == span[0]):
            return "start"
    return "end"


def _grid(
    span: tuple[np.datetime64, np.datetime64], step: np.timedelta64, stamping: str
) -> TimeArray:
    start, end = span
    count = int((end - start) // step)
    offsets = np.arange(count, dtype=np.int64) + (0 if stamping == "start" else 1)
    return start + offsets * step


def _runs(
    day: date,
    grid: TimeArray,
    missing: npt.NDArray[np.intp],
    stamps: TimeArray,
    i: int,
    j: int,
    min_run: int,
) -> list[BarRun]:
    breaks = np.flatnonzero(np.diff(missing) != 1)
    run_starts = np.concatenate([[0], breaks + 1])
    run_ends = np.concatenate([breaks, [len(missing) - 1]])
    runs = []
    for a, b in zip(run_starts, run_ends, strict=True):
        count = int(b - a + 1)
        if count <= min_run:
            continue
        first, last = grid[missing[a]], grid[missing[b]]
        after = i + int(np.searchsorted(stamps[i:j], last, side="right"))
        runs.append(BarRun(day, count, _dt(first), _dt(last), after if after < j else None))
    return runs


def _dt(value: np.datetime64) -> datetime:
    result = value.astype("datetime64[us]").astype(datetime)
    assert isinstance(result, datetime)
    return result


def run_gaps(bars: Sequence[Bars], calendars: Sequence[TradingCalendar]) -> dict[str, SessionGaps]:
    """Missing sessions of each symbol of a research run (symbols with bars checkable by
    session only: none for weekly or monthly bars)."""
    found = {}
    for series, calendar in zip(bars, calendars, strict=True):
        gaps = missing_sessions(series, calendar)
        if gaps is not None:
            found[series.symbol] = gaps
    return found


def gap_warning(symbol: str, gaps: SessionGaps) -> str | None:
    """One line for a research run's output, or None if nothing is missing."""
    if not gaps.missing:
        return None
    return (
        f"{symbol}: {len(gaps.missing):,} of {gaps.expected:,} {gaps.calendar} sessions missing "
        f"between {gaps.first} and {gaps.last}; first: {gaps.missing[0]}; "
        "run `tradd data validate`"
    )


def research_gaps(
    bars: Sequence[Bars], calendars: Sequence[TradingCalendar]
) -> tuple[dict[str, dict[str, object]], list[str]]:
    """A research output's `data_gaps` (every symbol checked) and its warning lines (one per
    symbol that misses sessions): research must not run silently on holed data."""
    found = run_gaps(bars, calendars)
    lines = [line for s, g in found.items() if (line := gap_warning(s, g)) is not None]
    return {symbol: gaps.as_dict() for symbol, gaps in found.items()}, lines
