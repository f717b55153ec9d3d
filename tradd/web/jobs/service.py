"""Jobs as the API handles them: submit within the limits, find one the caller may see,
its status, the caller's history, cancel and delete.

Visibility is the specification's user-specific job access: a user sees their own jobs,
an admin everyone's and the runs started from the command line. Anything else answers
404, exactly as a job that does not exist, so ids cannot be probed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException, status

from tradd.research.jobs.store import JobRecord
from tradd.research.runs.store import RunRecord, new_run_id
from tradd.users.records import User
from tradd.users.roles import Role
from tradd.web.context import WebContext
from tradd.web.jobs.views import job_status
from tradd.web.records import HistoryPage, JobKind, JobStatus

JOB_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
"""What a job (run) id may look like; anything else is an unknown job."""


@dataclass(frozen=True)
class Visible:
    job: JobRecord | None
    run: RunRecord | None

    @property
    def id(self) -> str:
        return self.job.id if self.job else self.run.id  # type: ignore[union-attr]


def submit(ctx: WebContext, user: User, kind: JobKind, request: Mapping[str, Any]) -> JobRecord:
    """A new queued job; 429 when the user has `max_jobs_per_user` queued or running."""
    limit = ctx.settings.web.max_jobs_per_user
    active = active_jobs(ctx, user.name)
    if active >= limit:
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS,
                            f"{user.name} has {active} jobs queued or running (limit {limit}, "
                            "[web] max_jobs_per_user): wait for one or cancel it")  # fmt: skip
    job_id = new_run_id(kind.value, ctx.clock())
    job = ctx.jobs.add(job_id, kind.value, user.name, request, str(ctx.jobs_dir / job_id))
    ctx.runner.poke()
    return job


def active_jobs(ctx: WebContext, owner: str) -> int:
    running = ctx.runner.running_ids()
    mine = [j for j in ctx.jobs.queued() + ctx.jobs.started() if j.owner == owner]
    return sum(1 for j in mine if j.state == "queued" or j.id in running)


def find(ctx: WebContext, user: User, job_id: str) -> Visible:
    """The job (and its run) if the caller may see it; else 404."""
    # Never sent to the database: a NUL byte is an error to PostgreSQL, not a miss.
    if JOB_ID.fullmatch(job_id) is None:
        raise not_found(job_id)
    job = ctx.jobs.get(job_id)
    if job is not None:
        if job.owner != user.name and not user.can(Role.ADMIN):
            raise not_found(job_id)
        return Visible(job, ctx.runs.get(job.id) if job.state == "started" else None)
    run = ctx.runs.get(job_id) if user.can(Role.ADMIN) else None
    if run is None:
        raise not_found(job_id)
    return Visible(None, run)


def not_found(job_id: str) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"no job {job_id!r}")


def status_of(ctx: WebContext, found: Visible) -> JobStatus:
    position = None
    if found.job is not None and found.job.state == "queued":
        queue = [j.id for j in ctx.jobs.queued()]
        position = queue.index(found.job.id) + 1 if found.job.id in queue else None
    return job_status(found.job, found.run, ctx.clock(), position)


def history(ctx: WebContext, user: User, page: int, page_size: int) -> HistoryPage:
    """The caller's jobs, newest first; an admin's history has everyone's, and the runs
    started from the command line."""
    offset = (page - 1) * page_size
    if not user.can(Role.ADMIN):
        jobs, total = ctx.jobs.page(user.name, offset, page_size)
        runs = {j.id: ctx.runs.get(j.id) for j in jobs if j.state == "started"}
        items = [job_status(j, runs.get(j.id), ctx.clock()) for j in jobs]
        return HistoryPage(jobs=items, page=page, page_size=page_size, total=total)
    jobs, job_total = ctx.jobs.page(None, 0, offset + page_size)
    known = ctx.jobs.all_ids()
    cli_runs = [
        r for r in ctx.runs.list(None, offset + page_size + len(known)) if r.id not in known
    ]
    merged: list[JobStatus] = [
        job_status(j, ctx.runs.get(j.id) if j.state == "started" else None, ctx.clock())
        for j in jobs
    ] + [job_status(None, r, ctx.clock()) for r in cli_runs]
    merged.sort(key=lambda s: (s.created_at, s.job_id), reverse=True)
    total = job_total + len(cli_runs)
    return HistoryPage(jobs=merged[offset : offset + page_size], page=page,
                       page_size=page_size, total=total)  # fmt: skip


def cancel_and_delete(ctx: WebContext, found: Visible) -> tuple[bool, bool]:
    """Cancel if running (what it finished stays in the backtest cache), then delete the
    job, its run and its files. (cancelled, deleted)."""
    cancelled = ctx.runner.cancel(found.job) if found.job is not None else False
    if found.job is not None:
        ctx.runner.delete(found.job)
    elif found.run is not None:
        if found.run.status == "running":
            raise HTTPException(status.HTTP_409_CONFLICT,
                                f"{found.run.id} is a command-line run still going on: stop "
                                "it where it runs (Ctrl-C), then delete it")  # fmt: skip
        ctx.runs.delete(found.run.id)
    return cancelled, True
