"""When schedules are due (cron in a time zone, after each close, early closes included)
and the command line a scheduled run gets: pure functions on an injected `now`."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from tradd.config.watch import ScheduleSettings
from tradd.supervisor.schedules.argv import job_argv
from tradd.supervisor.schedules.timing import describe, latest_due, next_due


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def test_cron_is_read_in_its_time_zone_across_a_dst_change() -> None:
    s = ScheduleSettings(name="n", kind="scan", cron="30 17 * * 1-5", timezone="America/New_York")
    assert latest_due(s, at(2026, 12, 7, 22, 30)) == at(2026, 12, 7, 22, 30)  # due at now
    assert latest_due(s, at(2026, 12, 7, 22, 29, 59)) == at(2026, 12, 4, 22, 30)  # the Friday
    assert next_due(s, at(2026, 12, 7, 22, 30)) == at(2026, 12, 8, 22, 30)
    assert next_due(s, at(2026, 10, 30, 22, 0)) == at(2026, 11, 2, 22, 30)  # EST from Nov 1
    assert next_due(s, at(2026, 10, 29, 21, 0)) == at(2026, 10, 29, 21, 30)  # EDT before
    assert describe(s) == "cron 30 17 * * 1-5 (America/New_York)"


def test_after_close_follows_the_calendar_with_its_early_closes_and_holidays() -> None:
    s = ScheduleSettings(name="n", kind="scan", at="after_close", calendar="XNYS",
                         delay_minutes=30)  # fmt: skip
    # Thanksgiving 2026-11-26 is a holiday; the Friday after closes at 13:00 New York.
    assert next_due(s, at(2026, 11, 25, 22, 0)) == at(2026, 11, 27, 18, 30)
    assert latest_due(s, at(2026, 11, 27, 18, 29)) == at(2026, 11, 25, 21, 30)
    assert latest_due(s, at(2026, 11, 27, 18, 30)) == at(2026, 11, 27, 18, 30)
    assert next_due(s, at(2026, 11, 27, 18, 30)) == at(2026, 11, 30, 21, 30)
    assert describe(s) == "30 min after the XNYS close"


def test_the_argv_adds_what_makes_it_a_job_and_the_strategy_where_it_goes() -> None:
    out, cfg = Path("/jobs/j1"), Path("/etc/tradd.toml")
    head = [sys.executable, "-m", "tradd"]
    scan = ScheduleSettings(name="a", kind="scan", cron="0 1 * * *",
                            args=("--symbols", "ORCL"), strategy="live1")  # fmt: skip
    assert job_argv(scan, "scan-1", out, cfg) == [
        *head, "scan", "--run-id", "scan-1", "--output", "/jobs/j1", "--symbols", "ORCL",
        "--config", "/etc/tradd.toml"]  # fmt: skip
    drift = ScheduleSettings(name="d", kind="drift", cron="0 1 * * *", strategy="live1",
                             args=("--from", "2026-12-01"))  # fmt: skip
    assert job_argv(drift, "drift-1", out, None) == [
        *head, "drift", "live1", "--run-id", "drift-1", "--output", "/jobs/j1",
        "--from", "2026-12-01"]  # fmt: skip
    for kind in ("optimize", "walkforward"):
        s = ScheduleSettings(name="o", kind=kind, cron="0 1 * * *", strategy="live1",
                             args=("--strategy", "strategies.sma_cross.SmaCross"))  # fmt: skip
        assert job_argv(s, "x-1", out, None)[3:] == [
            kind, "--run-id", "x-1", "--output", "/jobs/j1", "--propose-for", "live1",
            "--strategy", "strategies.sma_cross.SmaCross"]  # fmt: skip
        unproposed = s.model_copy(update={"strategy": None})
        assert "--propose-for" not in job_argv(unproposed, "x-1", out, None)
