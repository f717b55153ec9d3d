"""The `web_jobs` table: who asked for which research job, the queue, its process.

Research-level so that both the web console (its queue and runner) and the daemon (its
scheduled runs, `tradd.supervisor.schedules`) record jobs in the one table.

Every call is one short transaction, like the runs table, so the runner thread and the
request handlers never hold a session across each other. Records handed out are frozen.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from tradd.persistence.models_runs import ResearchRun
from tradd.persistence.models_web import WebJobRow
from tradd.persistence.transactions import read_transaction, write_transaction
from tradd.research.runs.store import json_safe


def jobs_dir(state_dir: Path) -> Path:
    """Where jobs' files go, one directory per job id: the console's and the daemon's
    scheduled jobs alike, so the console's downloads serve both."""
    return (state_dir / "web" / "jobs").resolve()


@dataclass(frozen=True)
class JobRecord:
    id: str
    kind: str
    owner: str
    state: str
    """queued, started (the run's status then says the rest), failed or cancelled."""
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    host: str | None
    pid: int | None
    request: dict[str, Any]
    output: str
    error: str | None
    cancel_requested: bool


class JobStore:
    def __init__(self, sessions: sessionmaker[Session], clock: Callable[[], datetime]) -> None:
        self._sessions = sessions
        self._clock = clock

    def add(
        self, job_id: str, kind: str, owner: str, request: Mapping[str, Any], output: str
    ) -> JobRecord:
        row = WebJobRow(
            id=job_id, kind=kind, owner=owner, state="queued", created_at=self._clock(),
            request=json_safe(request), output=output, cancel_requested=False,
        )  # fmt: skip
        with write_transaction(self._sessions) as session:
            session.add(row)
            session.flush()
            return _record(row)

    def add_started(
        self,
        job_id: str,
        kind: str,
        owner: str,
        request: Mapping[str, Any],
        output: str,
        host: str,
        pid: int,
    ) -> JobRecord:
        """A job started elsewhere (the daemon's schedules): recorded as already `started`
        with its process, so the console's runner never dispatches it but shows it, and
        watches it as it watches its own after a restart."""
        now = self._clock()
        row = WebJobRow(
            id=job_id, kind=kind, owner=owner, state="started", created_at=now, started_at=now,
            host=host, pid=pid, request=json_safe(request), output=output,
            cancel_requested=False,
        )  # fmt: skip
        with write_transaction(self._sessions) as session:
            session.add(row)
            session.flush()
            return _record(row)

    def get(self, job_id: str) -> JobRecord | None:
        with read_transaction(self._sessions) as session:
            row = session.get(WebJobRow, job_id)
            return _record(row) if row is not None else None

    def queued(self) -> list[JobRecord]:
        """The queue, first come first."""
        return self._where(WebJobRow.state == "queued", oldest_first=True)

    def started(self) -> list[JobRecord]:
        """Started jobs not yet seen to end (`mark_ended`): what the runner watches, so
        its rounds cost the jobs under way, not the whole history."""
        return self._where(
            (WebJobRow.state == "started") & WebJobRow.finished_at.is_(None), oldest_first=True
        )

    def mark_ended(self, job_id: str) -> bool:
        """A started job whose run (or process) has ended: out of the runner's watch."""
        with write_transaction(self._sessions) as session:
            result = session.execute(
                update(WebJobRow)
                .where(WebJobRow.id == job_id, WebJobRow.finished_at.is_(None))
                .values(finished_at=self._clock())
            )
            return bool(getattr(result, "rowcount", 0))

    def ended_before(self, cutoff: datetime) -> list[JobRecord]:
        """Jobs that ended before `cutoff`: by their run's end when they have a run (the
        runner may notice an end late), else by their own (failed or cancelled unstarted,
        or a process that ended before recording its run)."""
        run_ended = (ResearchRun.status != "running") & (ResearchRun.finished_at < cutoff)
        own_ended = (
            ResearchRun.id.is_(None)
            & WebJobRow.finished_at.is_not(None)
            & (WebJobRow.finished_at < cutoff)
        )
        query = (
            select(WebJobRow)
            .outerjoin(ResearchRun, ResearchRun.id == WebJobRow.id)
            .where(WebJobRow.state != "queued", run_ended | own_ended)
            .order_by(WebJobRow.created_at)
        )
        with read_transaction(self._sessions) as session:
            return [_record(r) for r in session.scalars(query)]

    def active_count(self, owner: str) -> int:
        """Queued and started jobs of `owner` whose run has not ended (the caller checks the
        runs): the started ones are counted by the runner, this counts rows."""
        query = select(func.count()).where(
            WebJobRow.owner == owner, WebJobRow.state.in_(("queued", "started"))
        )
        with read_transaction(self._sessions) as session:
            return int(session.scalar(query) or 0)

    def page(self, owner: str | None, offset: int, limit: int) -> tuple[list[JobRecord], int]:
        """Newest first; `owner` None: everyone's."""
        query = select(WebJobRow)
        count = select(func.count()).select_from(WebJobRow)
        if owner is not None:
            query = query.where(WebJobRow.owner == owner)
            count = count.where(WebJobRow.owner == owner)
        query = query.order_by(WebJobRow.created_at.desc(), WebJobRow.id.desc())
        with read_transaction(self._sessions) as session:
            rows = session.scalars(query.offset(offset).limit(limit))
            return [_record(r) for r in rows], int(session.scalar(count) or 0)

    def all_ids(self) -> set[str]:
        with read_transaction(self._sessions) as session:
            return set(session.scalars(select(WebJobRow.id)))

    def mark_started(self, job_id: str, host: str, pid: int) -> bool:
        """queued -> started; False if it is no longer queued (cancelled meanwhile)."""
        return self._move(job_id, ("queued",), state="started", started_at=self._clock(),
                          host=host, pid=pid)  # fmt: skip

    def mark_failed(self, job_id: str, error: str) -> bool:
        return self._move(job_id, ("queued", "started"), state="failed",
                          finished_at=self._clock(), error=error)  # fmt: skip

    def mark_cancelled(self, job_id: str, started: bool = False) -> bool:
        """A queued job cancelled before it started (`started`: or one interrupted before
        its run was recorded)."""
        states = ("queued", "started") if started else ("queued",)
        return self._move(job_id, states, state="cancelled", finished_at=self._clock())

    def request_cancel(self, job_id: str) -> None:
        with write_transaction(self._sessions) as session:
            session.execute(
                update(WebJobRow).where(WebJobRow.id == job_id).values(cancel_requested=True)
            )

    def delete(self, job_id: str) -> bool:
        with write_transaction(self._sessions) as session:
            result = session.execute(delete(WebJobRow).where(WebJobRow.id == job_id))
            return bool(getattr(result, "rowcount", 0))

    def _move(self, job_id: str, from_states: tuple[str, ...], **values: Any) -> bool:
        with write_transaction(self._sessions) as session:
            result = session.execute(
                update(WebJobRow)
                .where(WebJobRow.id == job_id, WebJobRow.state.in_(from_states))
                .values(**values)
            )
            return bool(getattr(result, "rowcount", 0))

    def _where(self, condition: Any, oldest_first: bool) -> list[JobRecord]:
        order = WebJobRow.created_at if oldest_first else WebJobRow.created_at.desc()
        with read_transaction(self._sessions) as session:
            rows = session.scalars(select(WebJobRow).where(condition).order_by(order))
            return [_record(r) for r in rows]


def _record(row: WebJobRow) -> JobRecord:
    return JobRecord(
        id=row.id, kind=row.kind, owner=row.owner, state=row.state,
        created_at=row.created_at, started_at=row.started_at, finished_at=row.finished_at,
        host=row.host, pid=row.pid, request=dict(row.request or {}), output=row.output,
        error=row.error, cancel_requested=bool(row.cancel_requested),
    )  # fmt: skip
