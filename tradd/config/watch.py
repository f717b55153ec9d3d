"""Settings for research that keeps watch (issue 20): schedules, drift and promotion.

`[[schedules]]` entries run research commands on a timetable (`tradd.supervisor.schedules`);
`[drift]` says when a live strategy's difference from its replayed backtest is an alert;
`[promotion]` holds the gates a proposed parameter set must pass before it may replace a
running strategy's parameters.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from tradd.config.base import Section

SCHEDULE_NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]{0,47}$"
ScheduleKind = Literal["scan", "optimize", "walkforward", "drift"]
MissedPolicy = Literal["run_once", "skip"]


class ScheduleSettings(Section):
    """One scheduled research run: the command line it runs and when."""

    name: str = Field(pattern=SCHEDULE_NAME_PATTERN)
    kind: ScheduleKind
    args: tuple[str, ...] = ()
    """The command's arguments exactly as `tradd <kind>` takes them."""
    cron: str | None = None
    """A five-field cron expression in `timezone`, e.g. "30 17 * * 1-5"."""
    at: Literal["after_close"] | None = None
    """`after_close`: on each trading day of `calendar`, `delay_minutes` after its close."""
    calendar: str = "XNYS"
    """The exchange calendar of `at = "after_close"` (exchange_calendars names)."""
    delay_minutes: int = Field(30, ge=0, le=24 * 60)
    timezone: str = "UTC"
    """The cron expression's time zone (IANA name)."""
    owner: str = "scheduler"
    """The console user the resulting jobs belong to."""
    missed: MissedPolicy = "run_once"
    """A run that fell due while nothing was running: `run_once` at start (however many
    were missed), or `skip` to the next one."""
    strategy: str | None = None
    """The live strategy this schedule watches: an optimize or walk-forward then stores a
    parameter proposal for it; a drift run replays it."""
    enabled: bool = True


class DriftSettings(Section):
    alert_pct: float = Field(1.0, gt=0)
    """A strategy whose live P&L differs from its replay by more than this percentage of
    the replay's starting equity is an alert."""
    record_bars: bool = True
    """Workers keep the bars their strategy received, for `tradd drift`."""


class PromotionSettings(Section):
    """The gates a parameter proposal must pass (docs/promotion.md). TOML has no null: a
    gate set to `false` is not checked (as `min_stability` by default)."""

    max_pbo: float | None = Field(0.2, ge=0, le=1)
    min_oos_psr: float | None = Field(0.95, ge=0, le=1)
    min_efficiency: float | None = Field(0.5)
    min_stability: float | None = Field(None, ge=0, le=1)

    @field_validator("max_pbo", "min_oos_psr", "min_efficiency", "min_stability", mode="before")
    @classmethod
    def _false_is_off(cls, value: object) -> object:
        if value is True:
            raise ValueError("a gate is a number, or false to switch it off")
        return None if value is False else value


SCHEDULER_OPTIONS = ("--run-id", "--output", "--config", "-c", "--propose-for")
"""Options the scheduler gives a scheduled run itself: `args` may not."""
REFUSED_OPTIONS = ("--execute", "--help", "-h")
"""Options a scheduled run may not take: a schedule researches, it never trades."""
CRON_FIELDS = 5


def schedule_problems(
    schedules: tuple[ScheduleSettings, ...], strategies: tuple[str, ...]
) -> list[str]:
    """Every problem with `[[schedules]]`, each naming its key path (`schedules.NAME.cron:
    ...`): what the loader can tell without the commands (`tradd.cli.schedule_args` parses
    `args` with the command's own parser)."""
    problems: list[str] = []
    seen: set[str] = set()
    for index, schedule in enumerate(schedules):
        if schedule.name in seen:
            problems.append(f"schedules[{index}].name: a second schedule named "
                            f"{schedule.name!r} (each needs its own)")  # fmt: skip
        seen.add(schedule.name)
        problems += [f"schedules.{schedule.name}.{p}" for p in _one_schedule(schedule, strategies)]
    return problems


def _one_schedule(schedule: ScheduleSettings, strategies: tuple[str, ...]) -> list[str]:
    problems = _when_problems(schedule)
    if schedule.strategy is not None and schedule.strategy not in strategies:
        known = ", ".join(strategies) or "none configured"
        problems.append(f"strategy: no strategy {schedule.strategy!r} (known: {known})")
    if schedule.kind == "drift" and schedule.strategy is None:
        problems.append("strategy: a drift schedule needs the live strategy it replays")
    for arg in schedule.args:
        name = arg.split("=", 1)[0]
        if name in SCHEDULER_OPTIONS:
            problems.append(f"args: {name} is set by the scheduler (got {list(schedule.args)})")
        elif name in REFUSED_OPTIONS:
            problems.append(f"args: {name} is not allowed in a scheduled run "
                            f"(got {list(schedule.args)})")  # fmt: skip
    return problems


def _when_problems(schedule: ScheduleSettings) -> list[str]:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    problems = []
    if (schedule.cron is None) == (schedule.at is None):
        problems.append("cron: give either cron or at (got "
                        f"cron={schedule.cron!r}, at={schedule.at!r})")  # fmt: skip
    if schedule.cron is not None and not _cron_valid(schedule.cron):
        problems.append(f"cron: not a five-field cron expression (minute hour day month "
                        f"weekday), got {schedule.cron!r}")  # fmt: skip
    try:
        ZoneInfo(schedule.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(f"timezone: unknown time zone {schedule.timezone!r} (an IANA name "
                        "such as America/New_York or UTC)")  # fmt: skip
    if schedule.at is not None:
        import exchange_calendars

        if schedule.calendar not in exchange_calendars.get_calendar_names(include_aliases=True):
            problems.append(f"calendar: unknown exchange calendar {schedule.calendar!r} "
                            "(an exchange_calendars name such as XNYS or XLON)")  # fmt: skip
    return problems


def _cron_valid(expression: str) -> bool:
    from croniter import croniter

    return len(expression.split()) == CRON_FIELDS and bool(croniter.is_valid(expression))
