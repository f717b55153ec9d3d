"""The audit of the console's trading actions: every execute, pause, resume and flatten,
with who asked, when, the request and the result, in the daemon's database.

An entry is read back as the API's own record (`AuditItem`, what `GET /api/v1/audit`
answers), so there is one typed shape of it, not a second one to keep in step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tradd.persistence.models_web import AuditRow
from tradd.persistence.transactions import read_transaction, write_transaction
from tradd.research.runs.store import json_safe
from tradd.web.live_records import AuditItem


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
    ) -> AuditItem:
        row = AuditRow(at=self._clock(), user=user, action=action,
                       request=json_safe(request), result=json_safe(result), ok=ok)  # fmt: skip
        with write_transaction(self._sessions) as session:
            session.add(row)
            session.flush()
            return _entry(row)

    def recent(self, limit: int = 100, action: str | None = None) -> list[AuditItem]:
        """The newest `limit` entries, of one `action` when given: filtered by the database,
        so an old entry of that action is found however many others came after it."""
        query = select(AuditRow)
        if action is not None:
            query = query.where(AuditRow.action == action)
        query = query.order_by(AuditRow.id.desc()).limit(max(1, limit))
        with read_transaction(self._sessions) as session:
            return [_entry(r) for r in session.scalars(query)]


def _entry(row: AuditRow) -> AuditItem:
    return AuditItem(id=row.id, at=row.at, user=row.user, action=row.action,
                     request=dict(row.request), result=dict(row.result),
                     ok=bool(row.ok))  # fmt: skip
