"""The daemon, live: strategies as `tradctl status` shows them, pause, resume, flatten,
recent events and alerts, all over the daemon's control socket.

Roles: a viewer reads; a trader pauses, resumes and flattens one strategy; flattening
all of them (the kill switch, with the account sweep) is an admin's. Every pause,
resume and flatten is audited (who, when, request, result), whatever came of it, and
the daemon's event and alert name the user (`requested_by` = `web:<user>`).

With no daemon every call answers 503 "daemon not running: nothing sent"; a request
that reached it but got no answer 504 (it may have acted: look again); a refusal maps
to what the caller can do: an unknown strategy 404, one not RUNNING (or paused while
halted, a flatten under way) 409.
"""

from __future__ import annotations

from typing import Annotated, Any

import structlog
from fastapi import APIRouter, HTTPException, Path, Query, status

from tradd.control.client import NoAnswer, Unreachable, call
from tradd.control.render import bar_age, flatten_text, strategy_pnl
from tradd.users.records import User
from tradd.web.auth.deps import Admin, Context, Trader, Viewer
from tradd.web.daemon import NOT_RUNNING, DaemonDown
from tradd.web.live_records import (
    FlattenReply,
    FlattenRequest,
    LiveAction,
    LiveAlerts,
    LiveEvents,
    LiveStatus,
    LiveStrategy,
)
from tradd.web.notifications import requested_by
from tradd.web.records import Problem

router = APIRouter(prefix="/api/v1/live", tags=["live"])
log = structlog.get_logger("tradd.web")
FLATTEN_TIMEOUT = 300.0
"""Seconds a flatten may take to answer (as `tradctl flatten`): it answers once flat."""
READ_TIMEOUT = 10.0
READS = frozenset({"status", "events", "alerts"})
Name = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]
HTTP_FOR = {
    "unknown_strategy": status.HTTP_404_NOT_FOUND,
    "unavailable": status.HTTP_409_CONFLICT,
    "conflict": status.HTTP_409_CONFLICT,
    "bad_argument": 422,
    "busy": status.HTTP_503_SERVICE_UNAVAILABLE,
    "timeout": status.HTTP_504_GATEWAY_TIMEOUT,
}
"""The daemon's error codes (docs/control.md) as HTTP; any other is a 502."""


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The error replies of a route, for its OpenAPI (each a `Problem`)."""
    return {c: {"model": Problem} for c in (401, 403, 503, 504, *codes)}


@router.get("/strategies", responses=_errors())
def strategies(user: Viewer, ctx: Context) -> LiveStatus:
    """Each strategy as `tradctl status` shows it, with the daemon's health."""
    result = _ask(ctx, "status", {}, READ_TIMEOUT)
    found = [_strategy(s) for s in result.get("strategies") or []]
    line, health = str(result.get("status_line") or ""), dict(result.get("supervisor") or {})
    return LiveStatus(status_line=line, supervisor=health, strategies=found)


@router.post("/strategies/{name}/pause", responses=_errors(404, 409))
def pause(name: Name, user: Trader, ctx: Context) -> LiveAction:
    """Exits only: the strategy's new entries are refused by its risk gate until resumed."""
    return _forward(ctx, user, "pause", name)


@router.post("/strategies/{name}/resume", responses=_errors(404, 409))
def resume(name: Name, user: Trader, ctx: Context) -> LiveAction:
    """Trading again (after a pause, or after a flatten or a halt)."""
    return _forward(ctx, user, "resume", name)


@router.post("/strategies/{name}/flatten", responses=_errors(404, 409, 422))
def flatten_one(name: Name, body: FlattenRequest, user: Trader, ctx: Context) -> FlattenReply:
    """Halt the strategy, cancel its orders, close its positions; answers once flat."""
    return _flatten(ctx, user, body, {"strategy": name})


@router.post("/flatten", responses=_errors(409, 422))
def flatten_all(body: FlattenRequest, user: Admin, ctx: Context) -> FlattenReply:
    """The kill switch: every strategy, then a sweep of the whole account (admin only)."""
    return _flatten(ctx, user, body, {"all": True})


@router.get("/events", responses=_errors())
def events(
    user: Viewer, ctx: Context, since: Annotated[int, Query(ge=0, le=2**53)] = 0
) -> LiveEvents:
    """The supervisor's recent events after `since` (crashes, flattens, pauses...)."""
    result = _ask(ctx, "events", {"since": since}, READ_TIMEOUT)
    found = list(result.get("events") or [])
    last = max([since, *(int(e.get("seq") or 0) for e in found)])
    return LiveEvents.model_validate({"events": found[-200:], "next_since": last})


@router.get("/alerts", responses=_errors(409))
def alerts(
    user: Viewer, ctx: Context, limit: Annotated[int, Query(ge=1, le=500)] = 20
) -> LiveAlerts:
    """The latest alerts and where each delivery stands (the console's notifications too)."""
    result = _ask(ctx, "alerts", {"action": "list", "limit": limit}, READ_TIMEOUT)
    return LiveAlerts.model_validate({"alerts": result.get("alerts") or []})


def _forward(ctx: Context, user: User, action: str, name: str) -> LiveAction:
    by = requested_by(user.name)
    request = {"strategy": name, "requested_by": by}
    result = _audited(ctx, user, action, request, READ_TIMEOUT)
    log.info(f"strategy {action}d from the console", strategy=name, user=user.name)
    return LiveAction(strategy=str(result.get("strategy") or name), action=action,
                      trading_state=result.get("trading_state"), reason=result.get("reason"),
                      requested_by=by)  # fmt: skip


def _flatten(
    ctx: Context, user: User, body: FlattenRequest, target: dict[str, Any]
) -> FlattenReply:
    if not body.confirm:
        raise HTTPException(422,
                            "confirm: must be true to flatten (nothing sent)")  # fmt: skip
    by = requested_by(user.name)
    result = _audited(ctx, user, "flatten", {**target, "requested_by": by}, FLATTEN_TIMEOUT)
    log.warning("flatten from the console", user=user.name, ok=result.get("ok"), **target)
    sweep = result.get("sweep")
    return FlattenReply(ok=bool(result.get("ok")), requested_by=by,
                        strategies=dict(result.get("strategies") or {}),
                        sweep=dict(sweep) if isinstance(sweep, dict) else None,
                        text=flatten_text(result))  # fmt: skip


def _audited(
    ctx: Context, user: User, action: str, request: dict[str, Any], timeout: float
) -> dict[str, Any]:
    """`_ask`, with the request and whatever came of it in the audit."""
    try:
        result = _ask(ctx, action, request, timeout)
    except (HTTPException, DaemonDown) as exc:
        detail = exc.detail if isinstance(exc, HTTPException) else str(exc)
        ctx.audit.record(user.name, action, request, {"error": detail}, ok=False)
        raise
    ok = bool(result.get("ok", True)) if action == "flatten" else True
    ctx.audit.record(user.name, action, request, result, ok=ok)
    return result


def _ask(ctx: Context, cmd: str, args: dict[str, Any], timeout: float) -> dict[str, Any]:
    """The daemon's `result`, or the HTTP error that says what happened."""
    try:
        reply = call(ctx.daemon.socket, cmd, args, timeout)
    except NoAnswer as exc:
        acted = "" if cmd in READS else ": it may have acted, look again"
        message = f"the daemon did not answer {cmd} ({exc}){acted}"
        raise HTTPException(status.HTTP_504_GATEWAY_TIMEOUT, message) from None
    except Unreachable as exc:
        raise DaemonDown(f"{NOT_RUNNING} ({exc})") from None
    if reply.get("ok"):
        result = reply.get("result")
        return result if isinstance(result, dict) else {}
    error = reply.get("error") or {}
    code, message = str(error.get("code") or "?"), str(error.get("message") or "")
    raise HTTPException(HTTP_FOR.get(code, status.HTTP_502_BAD_GATEWAY),
                        f"the daemon refused {cmd}: {message} ({code})")  # fmt: skip


def _strategy(s: dict[str, Any]) -> LiveStrategy:
    w: dict[str, Any] = dict(s.get("worker") or {})
    known: dict[str, Any] = dict(w.get("last_known") or {})
    live = bool(w.get("live"))
    shown = w if live else known
    age = w.get("last_bar_age") if live else None
    if age is None and live:
        age = bar_age(w.get("last_bar"))
    return LiveStrategy.model_validate({
        "name": s.get("name"), "state": s.get("state"), "reason": s.get("reason") or "",
        "strategy_class": s.get("strategy_class"), "symbols": s.get("symbols") or [],
        "bar": s.get("bar"), "pid": s.get("pid"), "restarts": s.get("restarts") or 0,
        "uptime": s.get("uptime"), "heartbeat_age": s.get("heartbeat_age"), "live": live,
        "connection": w.get("connection") or "unknown",
        "trading_state": w.get("trading_state") or "unknown",
        "trading_reason": (w.get("trading_reason") or "") if live else "",
        "ready": bool(w.get("ready")) if live else False,
        "positions": shown.get("positions") or {},
        "positions_as_of": None if live else known.get("as_of"),
        "pnl": strategy_pnl(w) if live else None,
        "daily_pnl": w.get("daily_pnl") if live else None,
        "equity": w.get("equity") if live else None,
        "drawdown_pct": w.get("drawdown_pct") if live else None,
        "bar_age": age, "last_bar": shown.get("last_bar"),
    })  # fmt: skip
