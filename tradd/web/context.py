"""Everything a request handler needs, built once per console process and passed in."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from tradd.config.settings import Settings
from tradd.control.client import environment, find_socket
from tradd.persistence.db import open_database
from tradd.research.cache.store import expire_cache
from tradd.research.jobs.store import JobRecord, JobStore
from tradd.research.jobs.store import jobs_dir as jobs_dir_of
from tradd.research.runs.store import RunStore
from tradd.users.store import UserStore
from tradd.web.audit import AuditLog
from tradd.web.auth.sessions import LoginLimiter, SessionStore
from tradd.web.daemon import DaemonLink
from tradd.web.jobs.command import job_argv, job_files
from tradd.web.jobs.runner import JobRunner, RunnerLimits
from tradd.web.notifications import Notifier
from tradd.web.records import JobKind


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class WebContext:
    settings: Settings
    config_path: Path | None
    users: UserStore
    jobs: JobStore
    runs: RunStore
    audit: AuditLog
    runner: JobRunner
    sessions: SessionStore
    limiter: LoginLimiter
    daemon: DaemonLink
    clock: Callable[[], datetime]
    jobs_dir: Path
    secure_cookies: bool
    notifier: Notifier
    database: sessionmaker[Session]
    """The shared database (the ledger, drift results) for what the console reads itself."""


@contextmanager
def open_context(
    settings: Settings,
    config_path: Path | None,
    *,
    secure_cookies: bool = False,
    clock: Callable[[], datetime] = utc_now,
    monotonic: Callable[[], float] = time.monotonic,
) -> Iterator[WebContext]:
    """The console's stores on the daemon's database (migrated on open), its job runner
    (not started: the server starts it) and its link to the daemon."""
    web = settings.web
    engine, sessions = open_database(settings.database_url())
    jobs_dir = jobs_dir_of(settings.state_dir)
    jobs, runs = JobStore(sessions, clock), RunStore(sessions, clock, settings.runs.lease_interval)
    socket = find_socket(None, config_path, environment())

    def launch(job: JobRecord) -> list[str]:
        job_files(JobKind(job.kind), job.request, Path(job.output))
        return job_argv(JobKind(job.kind), job.id, job.request, Path(job.output), config_path,
                        web.job_workers)  # fmt: skip

    notifier = Notifier(settings.alerts, sessions, clock, monotonic)

    def ended(job_id: str) -> None:
        job = jobs.get(job_id)
        if job is not None:
            notifier.job_ended(job, runs.get(job_id) if job.state == "started" else None)

    limits = RunnerLimits(web.max_running_jobs, timedelta(days=web.retention_days),
                          web.dispatch_interval, web.housekeeping_interval)  # fmt: skip
    runner = JobRunner(jobs, runs, limits, launch, lambda: expire_cache(settings, clock),
                       clock, monotonic, on_end=ended)  # fmt: skip
    notifier.start()
    try:
        yield WebContext(
            settings=settings, config_path=config_path, users=UserStore(sessions, clock),
            jobs=jobs, runs=runs, audit=AuditLog(sessions, clock), runner=runner,
            sessions=SessionStore(timedelta(hours=web.session_hours), clock),
            limiter=LoginLimiter(web.login_attempts, web.login_window, monotonic),
            daemon=DaemonLink(socket), clock=clock, jobs_dir=jobs_dir,
            secure_cookies=secure_cookies, notifier=notifier, database=sessions,
        )  # fmt: skip
    finally:
        runner.stop()
        notifier.stop()
        engine.dispose()
