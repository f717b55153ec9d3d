"""Historical bars as reqHistoricalData serves them: bar sizes, durations, end times.

Only bars that have completed on the simulated clock are served (no peeking
at the future); a keepUpToDate request also gets the bar in progress, which
is then updated as the tape moves.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np

from tradd.simgw.tape import BUCKET, Tape

BAR_SIZES = {
    "5 secs": 5, "10 secs": 10, "15 secs": 15, "30 secs": 30,
    "1 min": 60, "2 mins": 120, "3 mins": 180, "5 mins": 300, "10 mins": 600,
    "15 mins": 900, "20 mins": 1200, "30 mins": 1800,
    "1 hour": 3600, "2 hours": 7200, "3 hours": 10800, "4 hours": 14400, "8 hours": 28800,
    "1 day": 86400,
}  # fmt: skip
DAY = 86_400
MAX_BARS = 100_000
_DURATION = re.compile(r"^\s*(\d+)\s+([SDWMY])\s*$")
_CALENDAR = {"S": 1, "W": 7 * DAY, "M": 30 * DAY, "Y": 365 * DAY}


class HistoryRequestError(ValueError):
    """A request TWS would refuse; carries the TWS error code to answer with."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class HistBar:
    """One bar as message 17/90 carries it; ``start`` is epoch seconds."""

    start: int
    open: float
    high: float
    low: float
    close: float
    volume: int
    wap: float
    count: int


def bar_seconds(bar_size: str) -> int:
    size = BAR_SIZES.get(" ".join(bar_size.split()))
    if size is None:
        raise HistoryRequestError(321, f"Error validating request:-'bar size' invalid: {bar_size}")
    return size


def parse_end(text: str, now: int, tz: str) -> int:
    """endDateTime: '' (now), 'YYYYMMDD-HH:MM:SS' (UTC) or 'YYYYMMDD HH:MM:SS [zone]'."""
    text = text.strip()
    if not text:
        return now
    try:
        if "-" in text[:9]:
            stamp = datetime.strptime(text, "%Y%m%d-%H:%M:%S").replace(tzinfo=UTC)
            return min(int(stamp.timestamp()), now)
        parts = text.split()
        stamp = datetime.strptime(" ".join(parts[:2]), "%Y%m%d %H:%M:%S")
        zone = ZoneInfo(parts[2]) if len(parts) > 2 else ZoneInfo(tz)
    except (ValueError, KeyError) as exc:
        raise HistoryRequestError(
            321, f"Error validating request:-'endDateTime' invalid: {text}"
        ) from exc
    return min(int(stamp.replace(tzinfo=zone).timestamp()), now)


def parse_duration(text: str) -> tuple[int, str]:
    match = _DURATION.match(text)
    if not match or int(match.group(1)) <= 0:
        raise HistoryRequestError(321, f"Error validating request:-'durationStr' invalid: {text}")
    return int(match.group(1)), match.group(2)


def range_start(tape: Tape, end: int, duration: str) -> int:
    """Where a duration reaches back to; 'N D' counts trading sessions, as TWS does."""
    count, unit = parse_duration(duration)
    if unit != "D":
        return end - count * _CALENDAR[unit]
    i = int(np.searchsorted(tape.starts, end, side="left"))
    days: list[int] = []
    earliest = tape.first_time
    for start, local_day in zip(tape.starts[:i][::-1], tape.days[:i][::-1], strict=True):
        day = int(local_day)
        if not days or days[-1] != day:
            if len(days) == count:
                return earliest
            days.append(day)
        earliest = int(start)
    return earliest


def bars_between(
    tape: Tape, size: int, start: int, end: int, *, partial: bool = False
) -> list[HistBar]:
    """Bars of ``size`` seconds whose data lies in [start, end); the last may be partial.

    Refused up front when the range holds more than MAX_BARS bars' worth of data (every
    bar covers at most ``size`` seconds of it): building first would expand every source
    bar in the range into buckets, minutes and gigabytes for years of five-minute bars.
    """
    if _data_seconds(tape, start, end) // size > MAX_BARS:
        raise HistoryRequestError(
            162, "Historical Market Data Service error message:Time length exceed max."
        )
    groups: dict[int, list[tuple[int, float, float, float, float, int]]] = {}
    for unit in _units(tape, size, start, end):
        groups.setdefault(bar_label(tape, unit[0], size), []).append(unit)
    out: list[HistBar] = []
    for label, units in groups.items():
        complete = _group_end(tape, label, size) <= end
        if complete or partial:
            out.append(_aggregate(label, units))
    if len(out) > MAX_BARS:
        raise HistoryRequestError(
            162, "Historical Market Data Service error message:Time length exceed max."
        )
    return out


def _data_seconds(tape: Tape, start: int, end: int) -> int:
    """Seconds of trading the source bars hold within [start, end)."""
    first = int(np.searchsorted(tape.ends, start, side="right"))
    last = int(np.searchsorted(tape.starts, end, side="left"))
    if last <= first:
        return 0
    lo = np.maximum(tape.starts[first:last], start)
    hi = np.minimum(tape.ends[first:last], end)
    return int(np.clip(hi - lo, 0, None).sum())


def _units(
    tape: Tape, size: int, start: int, end: int
) -> Iterator[tuple[int, float, float, float, float, int]]:
    """Source bars when they divide the bar size, else five-second buckets, inside the range."""
    first = max(int(np.searchsorted(tape.ends, start, side="right")), 0)
    last = int(np.searchsorted(tape.starts, end, side="left"))
    step = int(tape.ends[0] - tape.starts[0]) if len(tape.starts) else BUCKET
    whole = tape.bars.intraday and size >= step and size % step == 0
    for i in range(first, last):
        s, e = int(tape.starts[i]), int(tape.ends[i])
        if (whole or (size == DAY and not tape.bars.intraday)) and s >= start and e <= end:
            b = tape.bars
            yield (s, float(b.open[i]), float(b.high[i]), float(b.low[i]),
                   float(b.close[i]), round(float(b.volume[i])))  # fmt: skip
            continue
        bk = tape.buckets(i)
        lo = max(0, -(-(start - s) // BUCKET))
        hi = min(len(bk), (end - s) // BUCKET)
        for k in range(lo, hi):
            yield (s + k * BUCKET, float(bk.open[k]), float(bk.high[k]), float(bk.low[k]),
                   float(bk.close[k]), int(bk.volume[k]))  # fmt: skip


def bar_label(tape: Tape, t: int, size: int) -> int:
    """Bar start a time belongs to: local midnight of the trading day for daily bars (a
    session that opens the evening before belongs to the day it closes on)."""
    if size >= DAY:
        i = max(int(np.searchsorted(tape.starts, t, side="right")) - 1, 0)
        return _local_midnight(tape, int(tape.days[i]))
    offset = _utc_offset(tape, t)
    return (t + offset) // size * size - offset


def _local_midnight(tape: Tape, day: int) -> int:
    """Epoch seconds of local midnight starting day number ``day`` in the tape's zone."""
    naive = datetime.fromtimestamp(day * DAY, UTC).replace(tzinfo=None)
    return int(naive.replace(tzinfo=ZoneInfo(tape.instrument.time_zone)).timestamp())


def _group_end(tape: Tape, label: int, size: int) -> int:
    if size >= DAY:
        day = (label + _utc_offset(tape, label)) // DAY
        i = int(np.searchsorted(tape.days, day, side="right")) - 1
        return int(tape.ends[i]) if i >= 0 else label + DAY
    return label + size


def _utc_offset(tape: Tape, t: int) -> int:
    moment = datetime.fromtimestamp(t, ZoneInfo(tape.instrument.time_zone))
    delta = moment.utcoffset()
    return int(delta.total_seconds()) if delta is not None else 0


def _aggregate(label: int, units: list[tuple[int, float, float, float, float, int]]) -> HistBar:
    volume = sum(u[5] for u in units)
    closes = [u[4] for u in units]
    wap = sum(u[4] * u[5] for u in units) / volume if volume else sum(closes) / len(closes)
    return HistBar(
        label,
        units[0][1],
        max(u[2] for u in units),
        min(u[3] for u in units),
        units[-1][4],
        volume,
        round(wap, 6),
        len(units),
    )


def format_bar_time(t: int, size: int, tz: str, format_date: int) -> str:
    """Bar label as TWS writes it: epoch for formatDate=2, else local date or date-time-zone."""
    if format_date == 2:
        return str(t)
    local = datetime.fromtimestamp(t, ZoneInfo(tz))
    if size >= DAY:
        return local.strftime("%Y%m%d")
    return f"{local:%Y%m%d %H:%M:%S} {tz}"


def format_range_time(t: int, tz: str) -> str:
    return f"{datetime.fromtimestamp(t, ZoneInfo(tz)):%Y%m%d %H:%M:%S} {tz}"
