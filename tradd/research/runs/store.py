"""Research runs in the database: start, progress, finish, list, show, delete.

Every call is one short transaction of its own (like the ledger), so a run's progress
is visible to `tradd runs list` in another process while it goes on. Records handed
out are plain frozen dataclasses, never tied to a session.

A run deleted while it goes on (`tradd runs delete --force`) is not an error for the
process running it: its later progress and finish find no row and change nothing.

Each run records its process (`Owner`) and a lease: `alive_at`, renewed every `lease_s`
seconds while it runs (`tradd.research.runs.lease`), which is how a run whose process
died is told from one still going.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from tradd.jsonsafe import finite
from tradd.persistence.models_runs import RUN_STATUSES, ResearchRun
from tradd.persistence.transactions import read_transaction, write_transaction
from tradd.research.runs.process import Owner, this_process

RUN_KINDS = ("scan", "optimize", "walkforward", "compare", "drift")
FINAL_STATUSES = tuple(s for s in RUN_STATUSES if s != "running")
ID_ATTEMPTS = 5
"""New ids tried before giving up: 16M per kind and day, so a clash is already rare."""
RUN_ID = re.compile(r"[a-z]+-\d{8}-[0-9a-f]{6,32}")
LEASE_INTERVAL_S = 10.0
"""Seconds between two renewals of a run's lease (`[runs] lease_interval`)."""

log = structlog.get_logger("tradd.research.runs")


@dataclass(frozen=True)
class RunRecord:
    id: str
    kind: str
    status: str
    created_at: datetime
    finished_at: datetime | None
    progress_done: int
    progress_total: int | None
    request: dict[str, Any]
    summary: dict[str, Any] | None
    output: str | None
    error: str | None
    owner: Owner | None = None
    """The process running it; None for a run recorded before tradd kept it."""
    lease_s: float | None = None
    alive_at: datetime | None = None
    """The last renewal of its lease (at first: when it started)."""

    def as_dict(self) -> dict[str, Any]:
        """For `--json`: timestamps as ISO 8601 strings."""
        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "created_at": self.created_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "progress_done": self.progress_done,
            "progress_total": self.progress_total,
            "request": self.request,
            "summary": self.summary,
            "output": self.output,
            "error": self.error,
            "host": self.owner.host if self.owner else None,
            "pid": self.owner.pid if self.owner else None,
            "alive_at": self.alive_at.isoformat() if self.alive_at else None,
        }


def json_safe(value: Mapping[str, Any]) -> dict[str, Any]:
    """`value` as the JSON column returns it: paths and dates as strings, NaN as null."""
    result: dict[str, Any] = json.loads(json.dumps(finite(dict(value)), default=str))
    return result


def new_run_id(kind: str, now: datetime) -> str:
    """`<kind>-<yyyymmdd>-<6 hex>`: 16M per kind and day, so a clash is already rare."""
    return f"{check_kind(kind)}-{now:%Y%m%d}-{secrets.token_hex(3)}"


def check_run_id(kind: str, run_id: str) -> str:
    """`run_id` if it is one `new_run_id(kind, ...)` could make, else ValueError."""
    if RUN_ID.fullmatch(run_id) is None or not run_id.startswith(f"{check_kind(kind)}-"):
        raise ValueError(f"{run_id!r} is not a {kind} run id like {kind}-20261207-ab12cd")
    return run_id


def check_kind(kind: str) -> str:
    if kind not in RUN_KINDS:
        raise ValueError(f"unknown run kind {kind!r}: use one of {', '.join(RUN_KINDS)}")
    return kind


class RunStore:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Callable[[], datetime],
        lease_interval: float = LEASE_INTERVAL_S,
    ) -> None:
        """`lease_interval`: how often the runs this store starts renew their lease."""
        self._sessions = sessions
        self._clock = clock
        self.lease_interval = lease_interval

    def now(self) -> datetime:
        return self._clock()

    def start(
        self,
        kind: str,
        request: Mapping[str, Any],
        output: Path | None,
        total: int | None = None,
        owner: Owner | None = None,
        run_id: str | None = None,
    ) -> str:
        """A new run in status `running` of `owner` (default: this process), its lease
        taken now; returns its id, e.g. `scan-20261202-ab12cd`.

        `run_id`: the id chosen beforehand (the web console names the run of a job it
        starts: `new_run_id`); one already taken is an error, never a second try."""
        check_kind(kind)
        document = json_safe(request)
        owner = owner or this_process()
        for _ in range(1 if run_id is not None else ID_ATTEMPTS):
            now = self._clock()
            chosen = run_id or new_run_id(kind, now)
            row = ResearchRun(
                id=chosen,
                kind=kind,
                status="running",
                created_at=now,
                progress_done=0,
                progress_total=total,
                request=document,
                output=str(output) if output is not None else None,
                host=owner.host,
                pid=owner.pid,
                process_start=owner.start,
                lease_s=self.lease_interval,
                alive_at=now,
            )
            try:
                with write_transaction(self._sessions) as session:
                    session.add(row)
            except IntegrityError:
                continue
            return chosen
        if run_id is not None:
            raise ValueError(f"run id {run_id!r} is taken")
        raise RuntimeError(f"could not find a free run id in {ID_ATTEMPTS} attempts")

    def progress(self, run_id: str, done: int, total: int | None = None) -> None:
        values: dict[str, Any] = {"progress_done": max(0, done)}
        if total is not None:
            values["progress_total"] = total
        self._update(run_id, values)

    def finish(
        self,
        run_id: str,
        status: str,
        summary: Mapping[str, Any] | None = None,
        error: str | None = None,
    ) -> None:
        if status not in FINAL_STATUSES:
            raise ValueError(f"a run finishes as {', '.join(FINAL_STATUSES)}, not {status!r}")
        values: dict[str, Any] = {"status": status, "finished_at": self._clock(), "error": error}
        if summary is not None:
            values["summary"] = json_safe(summary)
        self._update(run_id, values)

    def renew(self, run_id: str) -> bool:
        """Renew the run's lease (`alive_at` now); False if the run's record is gone."""
        with write_transaction(self._sessions) as session:
            result = session.execute(
                update(ResearchRun).where(ResearchRun.id == run_id).values(alive_at=self._clock())
            )
            return bool(getattr(result, "rowcount", 0))

    def running(self) -> list[RunRecord]:
        """Every run in status `running`, oldest first."""
        query = select(ResearchRun).where(ResearchRun.status == "running")
        with read_transaction(self._sessions) as session:
            rows = session.scalars(query.order_by(ResearchRun.created_at, ResearchRun.id))
            return [_record(row) for row in rows]

    def fail_dead(self, run: RunRecord, error: str, last_sign: datetime) -> bool:
        """Mark `run` failed with `error`, finished at `last_sign` (its last sign of life),
        unless it changed since it was read (finished, or its lease renewed meanwhile)."""
        same_lease = (
            ResearchRun.alive_at == run.alive_at
            if run.alive_at is not None
            else ResearchRun.alive_at.is_(None)
        )
        with write_transaction(self._sessions) as session:
            result = session.execute(
                update(ResearchRun)
                .where(ResearchRun.id == run.id, ResearchRun.status == "running", same_lease)
                .values(status="failed", finished_at=last_sign, error=error)
            )
            return bool(getattr(result, "rowcount", 0))

    def set_summary(self, run_id: str, summary: Mapping[str, Any]) -> None:
        """Replace a run's summary, e.g. to add what `tradd scan --execute` did with it."""
        self._update(run_id, {"summary": json_safe(summary)})

    def list(self, kind: str | None = None, limit: int = 50) -> list[RunRecord]:
        """The newest runs first."""
        query = select(ResearchRun).order_by(ResearchRun.created_at.desc(), ResearchRun.id.desc())
        if kind is not None:
            query = query.where(ResearchRun.kind == check_kind(kind))
        with read_transaction(self._sessions) as session:
            return [_record(row) for row in session.scalars(query.limit(max(1, limit)))]

    def get(self, run_id: str) -> RunRecord | None:
        with read_transaction(self._sessions) as session:
            row = session.get(ResearchRun, run_id)
            return _record(row) if row is not None else None

    def delete(self, run_id: str) -> bool:
        """Remove the record (never the run's output files); False if there was none."""
        with write_transaction(self._sessions) as session:
            result = session.execute(delete(ResearchRun).where(ResearchRun.id == run_id))
            return bool(getattr(result, "rowcount", 0))

    def _update(self, run_id: str, values: dict[str, Any]) -> None:
        with write_transaction(self._sessions) as session:
            result = session.execute(
                update(ResearchRun).where(ResearchRun.id == run_id).values(**values)
            )
            found = bool(getattr(result, "rowcount", 0))
        if not found:
            log.warning("run not found (deleted?); not updated", run_id=run_id)


def _record(row: ResearchRun) -> RunRecord:
    return RunRecord(
        id=row.id,
        kind=row.kind,
        status=row.status,
        created_at=row.created_at,
        finished_at=row.finished_at,
        progress_done=row.progress_done,
        progress_total=row.progress_total,
        request=dict(row.request or {}),
        summary=dict(row.summary) if row.summary is not None else None,
        output=row.output,
        error=row.error,
        owner=Owner(row.host, row.pid, row.process_start)
        if row.host is not None and row.pid is not None
        else None,
        lease_s=row.lease_s,
        alive_at=row.alive_at,
    )
