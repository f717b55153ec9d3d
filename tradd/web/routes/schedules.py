"""The daemon's schedules, for the jobs page: each `[[schedules]]` entry with its last run
(its job and state) and its next, asked of the daemon over the control socket as the live
routes ask (`tradctl schedules list`). The daemon runs them, not the console (docs/
schedules.md); their jobs are in the console's history like its own.

With no daemon: 503 "daemon not running"; the daemon still starting its scheduler: 409.
"""

from __future__ import annotations

from fastapi import APIRouter

from tradd.records.schedules import ScheduleList
from tradd.web.auth.deps import Context, Viewer
from tradd.web.routes.live import READ_TIMEOUT, _ask, _errors

router = APIRouter(prefix="/api/v1/schedules", tags=["schedules"])


@router.get("", responses=_errors(409))
def schedules(user: Viewer, ctx: Context) -> ScheduleList:
    """Every schedule: kind, when, owner, missed-run policy, last run, next run."""
    return ScheduleList.model_validate(_ask(ctx, "schedules", {"action": "list"}, READ_TIMEOUT))
