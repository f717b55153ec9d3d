"""Parameter proposals in the console: the list with evidence and gates (viewers), approve
and reject (traders), all through the daemon's control socket as `tradctl proposals` does.

Applying a proposal reloads a worker, which only the daemon can do; so the console asks
the daemon, which applies, audits (user `web:<user>`) and alerts. The console does not
audit these itself: the daemon's entry is the one, whoever asked (tradctl, the console,
auto-promotion). Errors map as on the live routes (503 no daemon, 409 a proposal in the
wrong state or failing its gates, 404 an unknown one).
"""

from __future__ import annotations

from typing import Annotated, Any

import structlog
from fastapi import APIRouter, HTTPException, Query, status
from fastapi import Path as PathParam

from tradd.records.proposals import PromotionResult, Proposal, ProposalList, ProposalState
from tradd.web.auth.deps import Context, Trader, Viewer
from tradd.web.notifications import requested_by
from tradd.web.routes.live import _ask, _errors

router = APIRouter(prefix="/api/v1/proposals", tags=["proposals"])
log = structlog.get_logger("tradd.web")
DECIDE_TIMEOUT = 300.0
"""Seconds an approve may take to answer: it waits for the reload (config check, restart)."""
Id = Annotated[int, PathParam(ge=1, le=2**31)]


@router.get("", responses=_errors())
def proposals(
    user: Viewer,
    ctx: Context,
    strategy: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_]{1,24}$")] = None,
    state: ProposalState | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> ProposalList:
    """The newest proposals (of one strategy, in one state), with evidence and gates."""
    args: dict[str, Any] = {"action": "list", "limit": limit}
    args.update({k: v for k, v in {"strategy": strategy, "state": state}.items() if v})
    return ProposalList.model_validate(_ask(ctx, "proposals", args, 10.0))


@router.get("/{proposal_id}", responses=_errors(404))
def proposal(proposal_id: Id, user: Viewer, ctx: Context) -> Proposal:
    try:
        return Proposal.model_validate(
            _ask(ctx, "proposals", {"action": "show", "id": proposal_id}, 10.0)
        )
    except HTTPException as exc:
        raise _not_found(exc, proposal_id) from None


@router.post("/{proposal_id}/approve", responses=_errors(404, 409))
def approve(proposal_id: Id, user: Trader, ctx: Context) -> PromotionResult:
    """Apply a passing proposal: a new params-file version, that worker reloaded."""
    return _decide(ctx, user.name, "approve", proposal_id)


@router.post("/{proposal_id}/reject", responses=_errors(404, 409))
def reject(proposal_id: Id, user: Trader, ctx: Context) -> PromotionResult:
    return _decide(ctx, user.name, "reject", proposal_id)


def _decide(ctx: Context, user: str, action: str, proposal_id: int) -> PromotionResult:
    args = {"action": action, "id": proposal_id, "requested_by": requested_by(user)}
    try:
        result = _ask(ctx, "promote", args, DECIDE_TIMEOUT)
    except HTTPException as exc:
        raise _not_found(exc, proposal_id) from None
    log.warning(f"proposal {action} from the console", proposal=proposal_id, user=user)
    return PromotionResult.model_validate(result)


def _not_found(exc: HTTPException, proposal_id: int) -> HTTPException:
    """The daemon's `bad_argument` for an unknown id is a 404 here."""
    if exc.status_code == 422 and f"no proposal {proposal_id}" in str(exc.detail):
        return HTTPException(status.HTTP_404_NOT_FOUND, str(exc.detail))
    return exc
