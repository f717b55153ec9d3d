"""Research runs in the database: start, progress, finish, list, show, delete.

Every call is one short transaction of its own (like the ledger), so a run's progress
is visible to `tradd runs list` in another process while it goes on. Records handed
out are plain frozen dataclasses, never tied to a session.

A run deleted while it goes on (`tradd runs delete --force`) is not an error for the
process running it: its later progress and finish find no row and change nothing.
"""

from __future__ import annotations

import json
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

RUN_KINDS = ("scan", "optimize", "walkforward")
FINAL_STATUSES = tuple(s for s in RUN_STATUSES if s != "running")
ID_ATTEMPTS = 5
"""New ids tried before giving up: 16M per kind and day, so a clash is already rare."""

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
        }


def json_safe(value: Mapping[str, Any]) -> dict[str, Any]:
    """`value` as the JSON column returns it: paths and dates as strings, NaN as null."""
    result: dict[str, Any] = json.loads(json.dumps(finite(dict(value)), default=str))
    return result


def check_kind(kind: str) -> str:
    if kind not in RUN_KINDS:
        raise ValueError(f"unknown run kind {kind!r}: use one of {', '.join(RUN_KINDS)}")
    return kind


class RunStore:
    def __init__(self, sessions: sessionmaker[Session], clock: Callable[[], datetime]) -> None:
        self._sessions = sessions
        self._clock = clock

    def start(
        self,
        kind: str,
        request: Mapping[str, Any],
        output: Path | None,
        total: int | None = None,
    ) -> str:
        """A new run in status `running`; returns its id, e.g. `scan-20261202-ab12cd`."""
        check_kind(kind)
        document = json_safe(request)
        for _ in range(ID_ATTEMPTS):
            now = self._clock()
            run_id = f"{kind}-{now:%Y%m%d}-{secrets.token_hex(3)}"
            row = ResearchRun(
                id=run_id,
                kind=kind,
                status="running",
                created_at=now,
                progress_done=0,
                progress_total=total,
                request=document,
                output=str(output) if output is not None else None,
            )
            try:
                with write_transaction(self._sessions) as session:
                    session.add(row)
            except IntegrityError:
                continue
            return run_id
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
    )
