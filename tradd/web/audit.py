"""The audit of the console's trading actions: every execute, pause, resume and flatten,
with who asked, when, the request and the result, in the daemon's database."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tradd.persistence.models_web import AuditRow
from tradd.persistence.transactions import read_transaction, write_transaction
from tradd.research.runs.store import json_safe


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    user: str
    action: str
    request: dict[str, Any]
    result: dict[str, Any]
    ok: bool


class AuditLog:
    def __init__(self, sessions: sessionmaker[Session], clock: Callable[[], datetime]) -> None:
        self._sessions = sessions
        self._clock = clock

    def record(
        self,
        user: str,
        action: str,
        request: Mapping[str, Any],
        result: Mapping[str, Any],
        ok: bool,
    ) -> AuditEntry:
        row = AuditRow(at=self._clock(), user=user, action=action,
                       request=json_safe(request), result=json_safe(result), ok=ok)  # fmt: skip
        with write_transaction(self._sessions) as session:
            session.add(row)
            session.flush()
            return _entry(row)

    def recent(self, limit: int = 100) -> list[AuditEntry]:
        query = select(AuditRow).order_by(AuditRow.id.desc()).limit(max(1, limit))
        with read_transaction(self._sessions) as session:
            return [_entry(r) for r in session.scalars(query)]


def _entry(row: AuditRow) -> AuditEntry:
    return AuditEntry(row.id, row.at, row.user, row.action, dict(row.request),
                      dict(row.result), bool(row.ok))  # fmt: skip
