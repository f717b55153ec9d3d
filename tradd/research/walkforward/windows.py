"""Walk-forward windows: pure calendar arithmetic on dates, no data involved.

Every boundary is `--start` plus a whole number of calendar months, computed from the
anchor each time (never by chaining), with the day clamped to the month's end: from
2021-01-31, one month is 2021-02-28 and two months are 2021-03-31 (not 03-28). Periods are
half-open, `[boundary, next boundary)`, so consecutive periods never overlap or leave a gap.

- rolling:  window k has IS = [start + k*oos, start + k*oos + is) and the OOS that follows,
  OOS = [start + k*oos + is, start + (k+1)*oos + is). The IS length stays constant.
- anchored: IS = [start, start + is + k*oos); the IS grows, the OOS periods are the same.

The OOS periods of consecutive windows tile the time after the first IS period, so their
equity curves can be stitched. The last OOS is cut at `--end` (inclusive); a cut window is
kept when its OOS still spans at least half of a full OOS period in calendar days
(`MIN_OOS_FRACTION`): shorter tails give too few bars for a meaningful Sharpe. A window
whose IS period does not fit before `--end` is not a window.
"""

from __future__ import annotations

import calendar
import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from tradd.errors import UsageError

Mode = Literal["rolling", "anchored"]
MODES: tuple[Mode, ...] = ("rolling", "anchored")
MIN_OOS_FRACTION = 0.5
ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Window:
    """One walk-forward step; all dates inclusive."""

    index: int
    is_start: date
    is_end: date
    oos_start: date
    oos_end: date
    truncated: bool = False
    """The OOS period was cut short at `--end`."""

    def as_dict(self) -> dict[str, object]:
        return {
            "index": self.index,
            "is_start": self.is_start.isoformat(),
            "is_end": self.is_end.isoformat(),
            "oos_start": self.oos_start.isoformat(),
            "oos_end": self.oos_end.isoformat(),
            "truncated": self.truncated,
        }


def add_months(day: date, months: int) -> date:
    """`day` plus `months` calendar months, the day clamped to the target month's length."""
    zero_based = day.year * 12 + (day.month - 1) + months
    year, month = divmod(zero_based, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def plan_windows(
    start: date,
    end: date,
    is_months: int,
    oos_months: int,
    mode: Mode,
    *,
    min_oos_fraction: float = MIN_OOS_FRACTION,
) -> tuple[Window, ...]:
    """The windows between `start` and `end` (inclusive); UsageError when none fits."""
    _check(start, end, is_months, oos_months, mode)
    windows: list[Window] = []
    k = 0
    while True:
        oos_from = add_months(start, is_months + k * oos_months)
        if oos_from > end:
            break
        is_from = start if mode == "anchored" else add_months(start, k * oos_months)
        full_end = add_months(start, is_months + (k + 1) * oos_months) - ONE_DAY
        cut = full_end > end
        oos_to = min(full_end, end)
        full_days = (full_end - oos_from).days + 1
        if cut and (oos_to - oos_from).days + 1 < min_oos_fraction * full_days:
            break
        windows.append(Window(k, is_from, oos_from - ONE_DAY, oos_from, oos_to, cut))
        k += 1
    if not windows:
        raise UsageError(
            f"no walk-forward window fits: --start {start} --end {end} with --is-months "
            f"{is_months} --oos-months {oos_months} needs --end on or after "
            f"{_earliest_end(start, is_months, oos_months, min_oos_fraction)}; "
            f"use a longer range or shorter periods"
        )
    return tuple(windows)


def _earliest_end(start: date, is_months: int, oos_months: int, fraction: float) -> date:
    """The first `--end` that gives one window (its OOS cut to the minimum length)."""
    oos_from = add_months(start, is_months)
    full_days = (add_months(start, is_months + oos_months) - oos_from).days
    return oos_from + timedelta(days=max(1, math.ceil(fraction * full_days)) - 1)


def _check(start: date, end: date, is_months: int, oos_months: int, mode: str) -> None:
    if is_months < 1:
        raise UsageError(f"--is-months {is_months}: must be at least 1")
    if oos_months < 1:
        raise UsageError(f"--oos-months {oos_months}: must be at least 1")
    if mode not in MODES:
        raise UsageError(f"--mode {mode!r}: use rolling or anchored")
    if start > end:
        raise UsageError(f"--start {start} is after --end {end}")
