"""Settings for research that keeps watch (issue 20): schedules, drift and promotion.

`[[schedules]]` entries run research commands on a timetable (`tradd.schedules`);
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
