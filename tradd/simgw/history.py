"""Historical bars as reqHistoricalData serves them: bar sizes, durations, end times.

Only bars that have completed on the simulated clock are served (no peeking
at the future); a keepUpToDate request also gets the bar in progress, which
is then updated as the tape moves.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from tradd.simgw.history_rules import (
    DAY,
    INVALID_END,
    MONTH,
    WEEK,
    YEAR,
    HistoryRequestError,
    bar_seconds,
    parse_duration,
    split_duration,
)
from tradd.simgw.history_series import HistBar, Unit, aggregate
from tradd.simgw.tape import BUCKET, Tape

_EPOCH = date(1970, 1, 1)

__all__ = ["DAY", "HistBar", "HistoryRequestError", "Unit", "bar_seconds", "parse_duration"]

MAX_BARS = 100_000
_CALENDAR = {"S": 1, "W": WEEK, "M": MONTH, "Y": YEAR}


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
        raise HistoryRequestError(10314, INVALID_END) from exc
    return min(int(stamp.replace(tzinfo=zone).timestamp()), now)


def range_start(tape: Tape, end: int, duration: str) -> int:
    """Where a duration reaches back to; 'N D' counts trading sessions, as TWS does."""
    count, unit = split_duration(duration)
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
    tape: Tape, size: int, start: int, end: int, *, partial: bool = False, what: str = "TRADES"
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
    groups: dict[int, list[Unit]] = {}
    for unit in _units(tape, size, start, end):
        groups.setdefault(bar_label(tape, unit[0], size), []).append(unit)
    out: list[HistBar] = []
    tick = tape.instrument.min_tick
    for label, units in groups.items():
        complete = _group_end(tape, label, size) <= end
        if complete or partial:
            first = bar_label(tape, units[0][0], DAY) if size > DAY else label
            out.append(aggregate(what, first, units, tick))
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


def _units(tape: Tape, size: int, start: int, end: int) -> Iterator[Unit]:
    """Source bars when they divide the bar size, else five-second buckets (one-second
    prices for 1-second bars), inside the range."""
    first = max(int(np.searchsorted(tape.ends, start, side="right")), 0)
    last = int(np.searchsorted(tape.starts, end, side="left"))
    step = int(tape.ends[0] - tape.starts[0]) if len(tape.starts) else BUCKET
    whole = tape.bars.intraday and size >= step and size % step == 0
    for i in range(first, last):
        s, e = int(tape.starts[i]), int(tape.ends[i])
        if (whole or (size >= DAY and not tape.bars.intraday)) and s >= start and e <= end:
            b = tape.bars
            yield (s, float(b.open[i]), float(b.high[i]), float(b.low[i]),
                   float(b.close[i]), round(float(b.volume[i])), e - s)  # fmt: skip
        elif size < BUCKET:
            yield from _seconds(tape, i, start, end)
        else:
            bk = tape.buckets(i)
            lo = max(0, -(-(start - s) // BUCKET))
            hi = min(len(bk), (end - s) // BUCKET)
            for k in range(lo, hi):
                yield (s + k * BUCKET, float(bk.open[k]), float(bk.high[k]), float(bk.low[k]),
                       float(bk.close[k]), int(bk.volume[k]), BUCKET)  # fmt: skip


def _seconds(tape: Tape, i: int, start: int, end: int) -> Iterator[Unit]:
    """Every second of source bar ``i`` inside [start, end): one price, its volume."""
    s = int(tape.starts[i])
    prices, volumes = tape.seconds(i)
    for k in range(max(0, start - s), min(len(prices), end - s)):
        p = float(prices[k])
        yield (s + k, p, p, p, p, int(volumes[k]), 1)


def bar_label(tape: Tape, t: int, size: int) -> int:
    """Bar start a time belongs to: for daily and longer bars local midnight of the trading
    day (a session that opens the evening before belongs to the day it closes on), of the
    Monday of its week, or of the first of its month."""
    offset = _utc_offset(tape, t)
    if size < DAY:
        return (t + offset) // size * size - offset
    i = max(int(np.searchsorted(tape.starts, t, side="right")) - 1, 0)
    day = _EPOCH + timedelta(days=int(tape.days[i]))
    if size == WEEK:
        day -= timedelta(days=day.weekday())
    elif size > WEEK:
        day = day.replace(day=1)
    return _local_midnight(tape, day)


def _local_midnight(tape: Tape, day: date) -> int:
    zone = ZoneInfo(tape.instrument.time_zone)
    return int(datetime(day.year, day.month, day.day, tzinfo=zone).timestamp())


def _group_end(tape: Tape, label: int, size: int) -> int:
    """When a bar is complete: the end of its last session for daily and longer bars."""
    if size < DAY:
        return label + size
    first = datetime.fromtimestamp(label, ZoneInfo(tape.instrument.time_zone)).date()
    if size == DAY:
        after = first + timedelta(days=1)
    elif size == WEEK:
        after = first + timedelta(days=7)
    else:
        after = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    i = int(np.searchsorted(tape.days, (after - _EPOCH).days, side="left")) - 1
    return int(tape.ends[i]) if i >= 0 else label + size


def _utc_offset(tape: Tape, t: int) -> int:
    moment = datetime.fromtimestamp(t, ZoneInfo(tape.instrument.time_zone))
    delta = moment.utcoffset()
    return int(delta.total_seconds()) if delta is not None else 0


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
