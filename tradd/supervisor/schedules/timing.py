"""When a schedule is due: a cron expression in its time zone, or after each close.

Every function takes and returns timezone-aware datetimes (UTC out) and reads no clock:
the scheduler passes its injected `now`. `latest_due(s, now)` is the last due time at or
before `now` (what the scheduler fires, once), `next_due(s, now)` the first after it
(what `tradctl schedules list` shows).

`at = "after_close"`: each session of the exchange calendar `calendar` closes at its own
time, early closes (half days) included, as `exchange_calendars` keeps them; the run is
due `delay_minutes` after that close.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from tradd.config.watch import ScheduleSettings

LOOK_DAYS = 21
"""Days searched either side of `now` for a session close (the longest market closure in
exchange_calendars' history, 9/11, was four sessions)."""


def latest_due(schedule: ScheduleSettings, now: datetime) -> datetime | None:
    """The last due time at or before `now`, or None (none within reach)."""
    if schedule.cron is not None:
        return _cron_step(schedule, _in_zone(schedule, now, 1e-6), "get_prev")
    closes = [c for c in _closes_near(schedule, now) if c <= now]
    return closes[-1] if closes else None


def next_due(schedule: ScheduleSettings, now: datetime) -> datetime | None:
    """The first due time after `now`, or None."""
    if schedule.cron is not None:
        return _cron_step(schedule, _in_zone(schedule, now, 0.0), "get_next")
    closes = [c for c in _closes_near(schedule, now) if c > now]
    return closes[0] if closes else None


def describe(schedule: ScheduleSettings) -> str:
    """The schedule's when, as written: `cron 30 17 * * 1-5 (America/New_York)`."""
    if schedule.cron is not None:
        return f"cron {schedule.cron} ({schedule.timezone})"
    return f"{schedule.delay_minutes} min after the {schedule.calendar} close"


def _in_zone(schedule: ScheduleSettings, now: datetime, nudge: float) -> datetime:
    """`now` in the schedule's zone, nudged on by `nudge` seconds so that a due time equal
    to `now` counts as at-or-before it (croniter's get_prev is strictly before)."""
    return (now + timedelta(seconds=nudge)).astimezone(ZoneInfo(schedule.timezone))


def _cron_step(schedule: ScheduleSettings, start: datetime, method: str) -> datetime:
    """croniter's previous or next time from `start` (in the schedule's zone), in UTC."""
    from croniter import croniter

    assert schedule.cron is not None
    found: Any = getattr(croniter(schedule.cron, start), method)(datetime)
    assert isinstance(found, datetime)
    return found.astimezone(UTC)


def _closes_near(schedule: ScheduleSettings, now: datetime) -> list[datetime]:
    """Due times (close + delay) of the sessions within LOOK_DAYS of `now`, in order."""
    day = now.astimezone(UTC).date()
    delay = timedelta(minutes=schedule.delay_minutes)
    closes = session_closes(schedule.calendar, day - timedelta(days=LOOK_DAYS),
                            day + timedelta(days=LOOK_DAYS))  # fmt: skip
    return [c + delay for c in closes]


@lru_cache(maxsize=32)
def session_closes(calendar: str, first: date, last: date) -> tuple[datetime, ...]:
    """The close (UTC) of every session of `calendar` from `first` to `last`, early
    closes included; the range is clipped to what the calendar covers."""
    import warnings

    import exchange_calendars
    import pandas as pd

    with warnings.catch_warnings():  # its own use of a pandas API pandas deprecates
        warnings.simplefilter("ignore")
        cal: Any = exchange_calendars.get_calendar(calendar)
    start = max(pd.Timestamp(first), cal.first_session)
    end = min(pd.Timestamp(last), cal.last_session)
    if start > end:
        return ()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sessions = cal.sessions_in_range(start, end)
        return tuple(cal.session_close(s).to_pydatetime().astimezone(UTC) for s in sessions)
