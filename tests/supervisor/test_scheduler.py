"""The daemon's scheduler on an injected clock, over a real database (SQLite and
PostgreSQL), starting real `python -m tradd scan` jobs: it fires on time and never twice
(not even with two daemons on one database), follows the missed-run policy across a
restart, records its jobs where the console and `tradd runs` see them, and reports each
end exactly once (a completed scan with its HTML report and top picks, a failed one with
the end of its log)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.conftest import ROOT
from tests.fixtures.database import OpenedDatabase
from tests.fixtures.simulator import eventually
from tests.fixtures.web import write_console_config
from tradd.alerts.model import AlertEvent
from tradd.config.loader import load_settings
from tradd.research.jobs.store import JobStore
from tradd.research.runs.store import RunStore
from tradd.supervisor.schedules.scheduler import Scheduler

SCAN = ["--symbols", "ORCL", "--strategies", "strategies.sma_cross.SmaCross",
        "--start", "2011-01-03", "--end", "2011-06-30", "--workers", "1"]  # fmt: skip
WEEKDAYS_1730_NY = {"cron": "30 17 * * 1-5", "timezone": "America/New_York"}


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def scheduler_for(tmp_path: Path, database: OpenedDatabase, clock: Clock,
                  schedules: list[dict[str, Any]], events: list[AlertEvent]) -> Scheduler:  # fmt: skip
    config = write_console_config(tmp_path, database.url, schedules=schedules)
    settings = load_settings(config)
    return Scheduler(settings, config, database.sessions, clock, events.append,
                     dict(os.environ), ROOT)  # fmt: skip


def ended(scheduler: Scheduler, events: list[AlertEvent], count: int) -> list[AlertEvent]:
    def enough() -> list[AlertEvent]:
        scheduler.tick()
        return events if len(events) >= count else []

    return eventually(enough, 90, f"{count} scheduled job(s) reported")


def test_fires_on_time_once_and_reports_the_end_once(tmp_path, database) -> None:
    clock, events = Clock(datetime(2026, 12, 7, 22, 29, tzinfo=UTC)), []  # 17:29 New York
    schedule = {"name": "nightly", "kind": "scan", "args": SCAN, "owner": "alice",
                **WEEKDAYS_1730_NY}  # fmt: skip
    first = scheduler_for(tmp_path, database, clock, [schedule], events)
    first.tick()
    assert first.fires.last("nightly") is None  # not yet due
    clock.now += timedelta(minutes=1)
    other_events: list[AlertEvent] = []
    other = scheduler_for(tmp_path, database, clock, [schedule], other_events)  # a 2nd daemon
    for s in (first, other, first):
        s.tick()
    fire = first.fires.last("nightly")
    assert fire is not None and fire.due_at == clock.now and not fire.manual
    [event] = ended(first, events, 1)
    for s in (first, other, first):
        s.tick()
    assert len(events) == 1 and other_events == []  # reported once, by one daemon
    assert event.kind == "schedule_complete" and event.data["job_id"] == fire.job_id
    assert "top picks: ORCL SmaCross" in event.message and "schedule nightly" in event.message
    report = Path(event.data["report_html"])
    assert report.parent == tmp_path / "state" / "web" / "jobs" / fire.job_id  # the console's
    assert "<html>" in report.read_text() and "ORCL" in report.read_text()
    job = JobStore(database.sessions, clock).get(fire.job_id)
    assert job is not None and job.owner == "alice" and job.state == "started"
    assert job.request == {"schedule": "nightly", "args": SCAN, "due_at": clock.now.isoformat(),
                           "manual": False, "strategy": None}  # fmt: skip
    assert job.finished_at is not None  # out of the console runner's watch
    run = RunStore(database.sessions, clock).get(fire.job_id)
    assert run is not None and run.status == "complete" and run.kind == "scan"
    [state] = first.states()
    assert state.last is not None and state.last.job_id == fire.job_id
    assert state.last.reported_at == clock.now and state.last_state == "complete"
    assert state.next_due == datetime(2026, 12, 8, 22, 30, tzinfo=UTC)
    manual = first.run_now("nightly")  # beside the timetable, which it does not move
    assert manual.manual and manual.job_id != fire.job_id
    assert first.fires.last_due("nightly") == fire.due_at
    [_, again] = ended(first, events, 2)
    assert again.data["job_id"] == manual.job_id


def test_missed_runs_once_or_skip_across_a_restart_and_a_failed_job_alerts(
    tmp_path, database
) -> None:
    clock, events = Clock(datetime(2026, 12, 7, 22, 30, tzinfo=UTC)), []
    failing = ["--symbols", "ORCL", "--strategies", "strategies.nope.Nope"]
    schedules = [{"name": name, "kind": "scan", "args": failing, "missed": missed,
                  **WEEKDAYS_1730_NY} for name, missed in (("once", "run_once"), ("skip", "skip"))]  # fmt: skip
    before = scheduler_for(tmp_path, database, clock, schedules, events)
    before.tick()  # on time: both fire
    assert {s.schedule.name: s.last.due_at for s in before.states() if s.last} == {
        "once": clock.now, "skip": clock.now}  # fmt: skip
    failed = ended(before, events, 2)
    assert {e.kind for e in failed} == {"schedule_failed"}
    assert all("strategies.nope" in e.data["log_tail"] for e in failed)  # its own words
    assert all(e.severity == "warning" for e in failed)

    clock.now = datetime(2026, 12, 10, 23, 0, tzinfo=UTC)  # down Tue, Wed and Thu at 17:30
    after = scheduler_for(tmp_path, database, clock, schedules, events)  # the restart
    after.tick()
    after.tick()
    thursday = datetime(2026, 12, 10, 22, 30, tzinfo=UTC)
    assert after.fires.last_due("once") == thursday  # the latest missed one, once
    assert after.fires.last_due("skip") == datetime(2026, 12, 7, 22, 30, tzinfo=UTC)
    clock.now = datetime(2026, 12, 11, 22, 30, tzinfo=UTC)  # Friday: both on time again
    after.tick()
    assert after.fires.last_due("skip") == after.fires.last_due("once") == clock.now
    reported = ended(after, events, 5)
    assert len(reported) == 5 and len({e.data["job_id"] for e in reported}) == 5
