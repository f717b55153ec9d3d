"""`Scheduler`: fires `[[schedules]]` when due, watches their jobs, reports each end once.

It runs in the daemon (the always-on process: systemd and its watchdog keep it up,
`tradctl` already talks to it, the alert outbox and the validated reload live there; the
web console is optional). `tick()` is called from the supervisor's loop (in a thread, so
database calls never stall heartbeats) and reads only the injected clock.

Firing, once: the latest due time at or before now is fired when it is later than the
last one fired (`schedule_fires`, UNIQUE (schedule, due_at), written before the process
starts). A due time that fell before this daemon knew the schedule (it was stopped) was
missed: `missed = "run_once"` fires it (the latest only, however many were missed),
`"skip"` waits for the next. A schedule never fired has missed nothing: its first run is
its first due time after the daemon started (or `tradctl schedules run`).
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import structlog
from sqlalchemy.orm import Session, sessionmaker

from tradd.alerts.model import AlertEvent
from tradd.config.settings import Settings
from tradd.config.watch import ScheduleSettings
from tradd.persistence.schedule_fires import ScheduleFire, ScheduleFires
from tradd.research.jobs.store import JobStore, jobs_dir
from tradd.research.runs.store import RunStore
from tradd.supervisor.schedules import timing
from tradd.supervisor.schedules.argv import job_argv
from tradd.supervisor.schedules.jobs import Ended, JobProcesses
from tradd.supervisor.schedules.report import JobEnd, end_event

log = structlog.get_logger("tradd.supervisor.schedules")
MANUAL_ATTEMPTS = 1000


@dataclass(frozen=True)
class ScheduleState:
    """One schedule as `tradctl schedules list` shows it."""

    schedule: ScheduleSettings
    last: ScheduleFire | None
    last_state: str | None
    """The last job's state: running, complete, failed, interrupted (None: never ran)."""
    next_due: datetime | None


class UnknownSchedule(KeyError):
    pass


class Scheduler:
    def __init__(
        self,
        settings: Settings,
        config_path: Path | None,
        sessions: sessionmaker[Session],
        clock: Callable[[], datetime],
        submit: Callable[[AlertEvent], object],
        environ: Mapping[str, str],
        cwd: Path,
    ) -> None:
        """`submit`: the alert service's (the scheduled jobs' reports); `environ` and
        `cwd`: the jobs' processes' (the daemon's, without systemd's variables)."""
        self._clock, self._submit, self._config = clock, submit, config_path
        self.fires = ScheduleFires(sessions, clock)
        runs = RunStore(sessions, clock, settings.runs.lease_interval)
        self.processes = JobProcesses(JobStore(sessions, clock), runs, environ, cwd, clock)
        self._lock = threading.Lock()
        self._since: dict[str, datetime] = {}
        self._skipped: dict[str, datetime] = {}
        self.settings = settings
        self.update(settings)

    def update(self, settings: Settings) -> None:
        """A reload: a schedule new to this daemon is known from now (nothing missed)."""
        now = self._clock()
        with self._lock:
            self.settings = settings
            for schedule in settings.schedules:
                self._since.setdefault(schedule.name, now)

    def tick(self) -> None:
        """Fire what is due, then report the jobs that ended."""
        with self._lock:
            now = self._clock()
            for schedule in self.settings.schedules:
                if schedule.enabled:
                    self._fire_if_due(schedule, now)
            self._report_ended()

    def run_now(self, name: str) -> ScheduleFire:
        """Fire `name` now, as a manual run (beside its timetable, which it does not move)."""
        with self._lock:
            schedule, asked = self._schedule(name), self._clock()
            for nudge in range(MANUAL_ATTEMPTS):  # two asked within one clock tick
                fire = self._fire(schedule, asked + timedelta(microseconds=nudge), manual=True)
                if fire is not None:
                    return fire
            raise RuntimeError(f"schedule {name}: could not record a manual run")

    def states(self) -> list[ScheduleState]:
        with self._lock:
            now, out = self._clock(), []
            for schedule in self.settings.schedules:
                last = self.fires.last(schedule.name)
                state = self._job_state(last.job_id) if last is not None else None
                upcoming = timing.next_due(schedule, now) if schedule.enabled else None
                out.append(ScheduleState(schedule, last, state, upcoming))
            return out

    def _schedule(self, name: str) -> ScheduleSettings:
        for schedule in self.settings.schedules:
            if schedule.name == name:
                return schedule
        known = ", ".join(s.name for s in self.settings.schedules) or "none configured"
        raise UnknownSchedule(f"no schedule {name!r} (known: {known})")

    def _fire_if_due(self, schedule: ScheduleSettings, now: datetime) -> None:
        latest = timing.latest_due(schedule, now)
        if latest is None:
            return
        floors = [t for t in (self.fires.last_due(schedule.name),
                              self._skipped.get(schedule.name)) if t is not None]  # fmt: skip
        if floors and latest <= max(floors):
            return
        since = self._since.setdefault(schedule.name, now)
        if latest < since and (not floors or schedule.missed == "skip"):
            self._skipped[schedule.name] = latest
            if floors:
                log.info("missed scheduled run skipped", schedule=schedule.name,
                         due_at=latest.isoformat())  # fmt: skip
            return
        self._fire(schedule, latest, manual=False)

    def _fire(self, schedule: ScheduleSettings, due_at: datetime,
              manual: bool) -> ScheduleFire | None:  # fmt: skip
        now = self._clock()
        job_id = f"{schedule.kind}-{now:%Y%m%d}-{secrets.token_hex(3)}"
        fire = self.fires.claim(schedule.name, due_at, job_id, manual)
        if fire is None:
            return None  # fired already, by us before a restart or by another daemon
        output = jobs_dir(self.settings.state_dir) / job_id
        argv = job_argv(schedule, job_id, output, self._config)
        request = {"schedule": schedule.name, "args": list(schedule.args),
                   "due_at": due_at.isoformat(), "manual": manual,
                   "strategy": schedule.strategy}  # fmt: skip
        error = self.processes.start(job_id, schedule.kind, schedule.owner, request, argv, output)
        log.info("scheduled run fired", schedule=schedule.name, job_id=job_id,
                 due_at=due_at.isoformat(), manual=manual, error=error)  # fmt: skip
        return fire

    def _report_ended(self) -> None:
        for fire in self.fires.unreported():
            ended = self.processes.ended(fire.job_id)
            if ended is None or not self.fires.claim_report(fire.id):
                continue
            self._report(fire, ended)

    def _report(self, fire: ScheduleFire, ended: Ended) -> None:
        job = self.processes.jobs.get(fire.job_id)
        end = JobEnd(
            schedule=fire.schedule, kind=job.kind if job else fire.job_id.split("-", 1)[0],
            job_id=fire.job_id, owner=job.owner if job else "-",
            output=Path(job.output) if job else jobs_dir(self.settings.state_dir) / fire.job_id,
            status=ended.status, summary=ended.summary, error=ended.error,
        )  # fmt: skip
        log.info("scheduled job ended", schedule=fire.schedule, job_id=fire.job_id,
                 status=ended.status)  # fmt: skip
        try:
            self._submit(end_event(end, self._clock()))
        except Exception as exc:  # a report must never stop the scheduler
            log.warning("scheduled job's report failed", job_id=fire.job_id, error=repr(exc))

    def _job_state(self, job_id: str) -> str:
        run = self.processes.runs.get(job_id)
        if run is not None:
            return run.status
        job = self.processes.jobs.get(job_id)
        if job is None:
            return "unknown"
        return "running" if job.state == "started" else job.state
