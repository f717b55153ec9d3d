"""The specification's job API (Phase 8), at its exact paths and field names."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, HTTPException, Query, status

from tradd.errors import UsageError
from tradd.research.scan.candidates import period_end
from tradd.research.scan.execute import DaemonFailed, DaemonUnreachable, ExecutionRow
from tradd.research.scan.gate import Gate
from tradd.research.scan.job import execute_and_record, stored_scan
from tradd.web.auth.deps import Context, Trader, Viewer
from tradd.web.daemon import NOT_RUNNING
from tradd.web.jobs import service
from tradd.web.jobs.views import scan_results
from tradd.web.notifications import requested_by
from tradd.web.records import (
    AnalyzeRequest,
    Deleted,
    ExecuteReply,
    ExecuteRequest,
    ExecutionOutcome,
    HistoryPage,
    JobAccepted,
    JobKind,
    JobStatus,
    JobStatusName,
    RuleResult,
    ScanResults,
    SymbolExecution,
)

router = APIRouter(prefix="/api/v1/optimizer", tags=["optimizer"])
log = structlog.get_logger("tradd.web")
DEFAULT_POSITION_PCT = 10.0


@router.post("/analyze", status_code=status.HTTP_202_ACCEPTED, responses={422: {}, 429: {}})
def analyze(body: AnalyzeRequest, user: Trader, ctx: Context) -> JobAccepted:
    """Start a scan job: every strategy (or those given) on every symbol."""
    _check_dates(body)
    _check_strategies(body.strategies)
    missing = _without_data(ctx, body.symbols)
    if missing:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"symbols: no {ctx.settings.data.default_bar} data for "
                            f"{', '.join(missing)} (tradd data import)")  # fmt: skip
    job = service.submit(ctx, user, JobKind.SCAN, body.model_dump(mode="json"))
    log.info("analysis queued", job_id=job.id, user=user.name, symbols=body.symbols)
    return JobAccepted(job_id=job.id, status=JobStatusName.QUEUED, kind=JobKind.SCAN)


@router.get("/status/{job_id}", responses={404: {}})
async def job_status(job_id: str, user: Viewer, ctx: Context) -> JobStatus:
    """Status, done/total, percent and ETA. `async`: polled by every open page every 2 s,
    and its few indexed reads cost less than a hop through the thread pool."""
    return service.status_of(ctx, service.find(ctx, user, job_id))


@router.get("/results/{job_id}", responses={404: {}})
def results(job_id: str, user: Viewer, ctx: Context) -> ScanResults:
    """Per symbol the ranked strategies with composite score and metrics, and the best."""
    found = service.find(ctx, user, job_id)
    state = service.status_of(ctx, found)
    if state.kind is not JobKind.SCAN:
        raise HTTPException(status.HTTP_409_CONFLICT,
                            f"{job_id} is a {state.kind.value} job: its results are at "
                            f"/api/v1/jobs/{job_id}/results")  # fmt: skip
    return scan_results(found.id, state.status, found.run, Path.read_text)


@router.post("/execute", responses={404: {}, 409: {}, 422: {}, 503: {}})
def execute(body: ExecuteRequest, user: Trader, ctx: Context) -> ExecuteReply:
    """Enter the best strategy of each symbol through the daemon's risk-checked `enter`,
    with exactly the rules of `tradd scan --execute`."""
    found = service.find(ctx, user, body.job_id)
    if service.status_of(ctx, found).status is not JobStatusName.COMPLETED or found.run is None:
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"job {body.job_id} is not a completed analysis: nothing sent"
        )
    request_doc: dict[str, Any] = {"request": body.model_dump(mode="json")}
    try:
        reply = _execute(ctx, body, found.run.summary or {}, found.run.request,
                         Path(found.run.output or ctx.jobs_dir / body.job_id),
                         requested_by(user.name, body.job_id))  # fmt: skip
    except HTTPException as exc:
        ctx.audit.record(user.name, "execute", request_doc, {"error": exc.detail}, ok=False)
        raise
    failed = any(r.outcome is ExecutionOutcome.FAILED for r in reply.results)
    ctx.audit.record(user.name, "execute", request_doc, reply.model_dump(mode="json"),
                     ok=not failed)  # fmt: skip
    ctx.notifier.blocked(user.name, reply)  # entered: the worker's operator_entry
    log.info("analysis executed", job_id=body.job_id, user=user.name,
             outcomes={r.symbol: r.outcome.value for r in reply.results})  # fmt: skip
    return reply


@router.get("/history")
def history(
    user: Viewer,
    ctx: Context,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 20,
) -> HistoryPage:
    """The caller's jobs (an admin's: everyone's), newest first, paged."""
    return service.history(ctx, user, page, page_size)


@router.delete("/jobs/{job_id}", responses={404: {}, 409: {}})
def delete_job(job_id: str, user: Trader, ctx: Context) -> Deleted:
    """Cancel if running (what it finished is kept in the backtest cache), then delete."""
    found = service.find(ctx, user, job_id)
    cancelled, deleted = service.cancel_and_delete(ctx, found)
    log.info("job deleted", job_id=job_id, user=user.name, cancelled=cancelled)
    return Deleted(job_id=job_id, deleted=deleted, cancelled=cancelled)


def _check_dates(body: AnalyzeRequest) -> None:
    if body.start_date and body.end_date and body.start_date >= body.end_date:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"start_date {body.start_date} must be before end_date "
                            f"{body.end_date}")  # fmt: skip


def _check_strategies(strategies: list[str] | None) -> None:
    """Each strategy loads (the job would fail at once otherwise): 422 naming it."""
    from tradd.research.scan.discover import resolve_strategies

    try:
        resolve_strategies(tuple(strategies or ("all",)))
    except UsageError as exc:
        message = str(exc).replace("--strategies: ", "")
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f"strategies: {message}"
        ) from None


def _without_data(ctx: Context, symbols: list[str]) -> list[str]:
    from tradd.marketdata.store import DataStore

    store = DataStore(ctx.settings.data.dir)
    bar = ctx.settings.data.default_bar
    return [s for s in symbols if not store.path_for(s, bar).exists()]


def _execute(
    ctx: Context, body: ExecuteRequest, summary: dict[str, Any], request: dict[str, Any],
    output: Path, by: str,
) -> ExecuteReply:  # fmt: skip
    known = set((summary.get("best") or {}).keys())
    unknown = [s for s in body.symbols or [] if s.upper() not in known]
    if unknown:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"symbols: not in job {body.job_id}: {', '.join(unknown)}")  # fmt: skip
    symbols = [s.upper() for s in body.symbols] if body.symbols else None
    try:
        gate = Gate.from_options(None, None, None, body.allow_stale, False, date.today)
        gate.check_fresh(period_end(summary))
        stored = stored_scan(ctx.settings, body.job_id, symbols)
    except UsageError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT,
                            str(exc).replace("--allow-stale", "allow_stale")) from None  # fmt: skip
    pct = float(body.position_pct or request.get("max_position_pct") or DEFAULT_POSITION_PCT)
    try:
        rows, _ = execute_and_record(ctx.settings, stored.candidates, ctx.daemon.scan_call,
                                     body.job_id, replace(gate.policy(pct), requested_by=by),
                                     output)  # fmt: skip
    except DaemonUnreachable:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, NOT_RUNNING) from None
    except DaemonFailed as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from None
    return ExecuteReply(job_id=body.job_id, position_pct=pct,
                        results=[_outcome(r) for r in rows])  # fmt: skip


def _outcome(row: ExecutionRow) -> SymbolExecution:
    return SymbolExecution(
        symbol=row.symbol, outcome=ExecutionOutcome(row.status), strategy=row.strategy,
        daemon_strategy=row.daemon_strategy, reason=row.reason, order_ref=row.order_ref,
        order_id=row.order_ref, shares=row.quantity, price=row.price, value=row.value,
        requested_value=row.requested_value, client_ref=row.client_ref, note=row.note,
        rules=[RuleResult(rule=str(r.get("rule") or r.get("name") or "?"),
                          message=r.get("message"), value=r.get("value"),
                          limit=r.get("limit")) for r in row.rules],
    )  # fmt: skip
