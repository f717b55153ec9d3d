"""Writing one audit entry (`audit_log`), for processes below the web console.

The console audits its own actions (`tradd.web.audit.AuditLog`, which also reads them
back); the daemon audits what it does on its own authority or for tradctl (a parameter
promotion, a rollback), into the same table, so `GET /api/v1/audit` shows both.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from tradd.jsonsafe import finite
from tradd.persistence.models_web import OWNER_MAX, AuditRow
from tradd.persistence.transactions import write_transaction


def write_audit(
    sessions: sessionmaker[Session],
    at: datetime,
    user: str,
    action: str,
    request: Mapping[str, Any],
    result: Mapping[str, Any],
    ok: bool,
) -> int:
    """Store one entry; its id. `user` is cut to the column's width (a long unix name)."""
    row = AuditRow(at=at, user=user[:OWNER_MAX], action=action[:32],
                   request=_plain(request), result=_plain(result), ok=ok)  # fmt: skip
    with write_transaction(sessions) as session:
        session.add(row)
        session.flush()
        return row.id


def _plain(value: Mapping[str, Any]) -> dict[str, Any]:
    """As the JSON column returns it: paths and dates as strings, NaN as null."""
    plain: dict[str, Any] = json.loads(json.dumps(finite(dict(value)), default=str))
    return plain
