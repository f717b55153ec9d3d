"""`GET /api/v1/audit`: the console's trading actions, newest first (admin only).

Every execute, pause, resume and flatten asked through the console is recorded by
`tradd.web.audit.AuditLog` (who, when, the request, the result, ok), refusals and a
daemon that was down included.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from tradd.web.auth.deps import Admin, Context
from tradd.web.live_records import AuditPage

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


@router.get("", responses={401: {}, 403: {}})
def audit(
    user: Admin,
    ctx: Context,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    action: Annotated[str | None, Query(pattern=r"^[a-z_]{1,32}$")] = None,
) -> AuditPage:
    """The latest `limit` entries (of one `action`: execute, pause, resume, flatten)."""
    return AuditPage(entries=ctx.audit.recent(limit, action))
