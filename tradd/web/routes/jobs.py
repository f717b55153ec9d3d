"""Jobs beyond the specification: optimize, walk-forward and compare, as `tradd optimize`,
`tradd walkforward` and `tradd compare` in processes of their own, their status (as the
optimizer's), their results and downloads, and their progress as Server-Sent Events with
a live leaderboard.

A request is checked here as far as the console can without running anything (the
strategy loads, every parameter range parses against its defaults, the grid is not empty
nor too large, the data exists), so a mistake is a 422 naming the field at once rather
than a failed job a minute later.
"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import Annotated

import structlog
from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import Response, StreamingResponse

from tradd.errors import UsageError
from tradd.web.auth.deps import Context, Trader, Viewer
from tradd.web.jobs import service
from tradd.web.jobs.command import param_arguments
from tradd.web.jobs.events import StreamTiming, job_events
from tradd.web.jobs.research_files import MEDIA, Download, NotAvailable, download
from tradd.web.jobs.research_views import BadAxis, leaderboard_of, research_results
from tradd.web.records import JobAccepted, JobKind, JobStatus, JobStatusName
from tradd.web.research_records import (
    MAX_TRIALS,
    CompareJobRequest,
    Leaderboard,
    OptimizeJobRequest,
    ResearchJobRequest,
    ResearchResults,
    StrategyInfo,
    StrategyParam,
    WalkForwardJobRequest,
)

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])
log = structlog.get_logger("tradd.web")
RESEARCH_KINDS = (JobKind.OPTIMIZE, JobKind.WALKFORWARD, JobKind.COMPARE)
STREAM_TIMING = StreamTiming()
UNPROCESSABLE = 422


@router.get("/strategies")
def strategies(user: Viewer) -> list[StrategyInfo]:
    """The shipped strategies and their parameters (name, default, type): the form's
    choices and the defaults its ranges start from."""
    from tradd.research.scan.discover import resolve_strategies
    from tradd.strategy_loader import param_defaults

    return [StrategyInfo(strategy=path, params=[
                StrategyParam(name=n, default=v, type=type(v).__name__)
                for n, v in param_defaults(cls).items()])
            for path, cls in resolve_strategies(("all",))]  # fmt: skip


@router.post("/optimize", status_code=status.HTTP_202_ACCEPTED, responses={422: {}, 429: {}})
def optimize(body: OptimizeJobRequest, user: Trader, ctx: Context) -> JobAccepted:
    """Start an optimization job (`tradd optimize`): grid or Bayesian over `params`."""
    return _submit(ctx, user, JobKind.OPTIMIZE, body)


@router.post("/walkforward", status_code=status.HTTP_202_ACCEPTED, responses={422: {}, 429: {}})
def walkforward(body: WalkForwardJobRequest, user: Trader, ctx: Context) -> JobAccepted:
    """Start a walk-forward job (`tradd walkforward`): per window, optimize in sample and
    trade the best out of sample."""
    _check_windows(body)
    return _submit(ctx, user, JobKind.WALKFORWARD, body)


@router.post("/compare", status_code=status.HTTP_202_ACCEPTED, responses={422: {}, 429: {}})
def compare(body: CompareJobRequest, user: Trader, ctx: Context) -> JobAccepted:
    """Start a comparison job (`tradd compare`): the strategies on the same bars, ranked
    by Sharpe, every pair's difference tested; one backtest per strategy."""
    _check_compare(ctx, body)
    job = service.submit(ctx, user, JobKind.COMPARE, body.model_dump(mode="json"))
    log.info("research job queued", job_id=job.id, kind="compare", user=user.name,
             strategies=body.strategies, symbols=body.symbols)  # fmt: skip
    return JobAccepted(job_id=job.id, status=JobStatusName.QUEUED, kind=JobKind.COMPARE)


@router.get("/{job_id}", responses={404: {}})
def job_status(job_id: str, user: Viewer, ctx: Context) -> JobStatus:
    """Status, done/total, percent and ETA (as `/api/v1/optimizer/status/{job_id}`)."""
    return service.status_of(ctx, service.find(ctx, user, job_id))


@router.get("/{job_id}/results", responses={404: {}, 409: {}, 422: {}})
def results(
    job_id: str,
    user: Viewer,
    ctx: Context,
    x: Annotated[str | None, Query(max_length=64, description="Heatmap column parameter")] = None,
    y: Annotated[str | None, Query(max_length=64, description="Heatmap row parameter")] = None,
) -> ResearchResults:
    """Best parameters, the leaderboard, heatmap data (of `x` and `y`, default the first two
    varying parameters), IS-vs-OOS data and the overfitting figures with their warnings; a
    comparison's ranked strategies, pair tests and equity curves (`comparison`)."""
    kind, state, output = _research_job(ctx, user, job_id)
    try:
        return research_results(job_id, kind, state.status, output, (x, y))
    except BadAxis as exc:
        raise HTTPException(UNPROCESSABLE, str(exc)) from None


@router.get("/{job_id}/leaderboard", responses={404: {}, 409: {}})
def leaderboard(job_id: str, user: Viewer, ctx: Context) -> Leaderboard:
    """The best so far, for clients that poll rather than stream."""
    kind, _, output = _research_job(ctx, user, job_id)
    board = leaderboard_of(job_id, kind, output)
    return board or Leaderboard(job_id=job_id, objective=None, counts={}, top=[], windows=[])


@router.get("/{job_id}/events", responses={200: {"content": {"text/event-stream": {}}}, 404: {}})
def events(job_id: str, request: Request, user: Viewer, ctx: Context) -> StreamingResponse:
    """Progress as Server-Sent Events: `progress` (the status), `leaderboard` (the best
    so far, optimize and walk-forward jobs) and a last `end` when the job ends. Any job,
    scans included."""
    service.find(ctx, user, job_id)  # 404 before the stream starts
    stream = job_events(ctx, user, job_id, request, STREAM_TIMING, time.monotonic)
    return StreamingResponse(stream, media_type="text/event-stream",
                             headers={"Cache-Control": "no-store",
                                      "X-Accel-Buffering": "no"})  # fmt: skip


@router.get("/{job_id}/download/{name}", responses={404: {}, 409: {}})
def download_file(job_id: str, name: Download, user: Viewer, ctx: Context) -> Response:
    """`best.toml`, `results.json`, `results.csv` or `report.html`, from the files the
    command wrote (a comparison: its JSON, its period returns and its own report)."""
    kind, state, output = _research_job(ctx, user, job_id)
    if output is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"{name.value}: job {job_id} has no output")
    try:
        results_now = research_results(job_id, kind, state.status, output)
        content = download(kind, output, name, results_now)
    except (NotAvailable, BadAxis) as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    disposition = f'attachment; filename="{job_id}-{name.value}"'
    return Response(content, media_type=MEDIA[name],
                     headers={"Content-Disposition": disposition})  # fmt: skip


def _research_job(
    ctx: Context, user: Viewer, job_id: str
) -> tuple[JobKind, JobStatus, Path | None]:
    found = service.find(ctx, user, job_id)
    state = service.status_of(ctx, found)
    if state.kind not in RESEARCH_KINDS:
        raise HTTPException(status.HTTP_409_CONFLICT,
                            f"{job_id} is a {state.kind.value} job: its results are at "
                            f"/api/v1/optimizer/results/{job_id}")  # fmt: skip
    output = found.job.output if found.job else (found.run.output if found.run else None)
    return state.kind, state, Path(output) if output else None


def _submit(ctx: Context, user: Trader, kind: JobKind, body: ResearchJobRequest) -> JobAccepted:
    _check(ctx, body)
    job = service.submit(ctx, user, kind, body.model_dump(mode="json"))
    log.info("research job queued", job_id=job.id, kind=kind.value, user=user.name,
             strategy=body.strategy, symbols=body.symbols)  # fmt: skip
    return JobAccepted(job_id=job.id, status=JobStatusName.QUEUED, kind=kind)


def _unprocessable(message: str) -> HTTPException:
    return HTTPException(UNPROCESSABLE, message)


def _check(ctx: Context, body: ResearchJobRequest) -> None:
    """What the command would refuse at once, refused now with the field named."""
    from tradd.research.params import build_space, grid_size
    from tradd.research.space import valid_grid
    from tradd.strategy_loader import load_strategy, param_defaults

    _check_dates(body.start_date, body.end_date)
    try:
        strategy = load_strategy(body.strategy)
    except UsageError as exc:
        raise _unprocessable(f"strategy: {exc}") from None
    try:
        space = build_space(param_defaults(strategy), param_arguments(body.params), {})
    except UsageError as exc:
        raise _unprocessable("params: " + str(exc).replace("--param ", "")) from None
    if not any(len(r.values) > 1 for r in space):
        raise _unprocessable("params: nothing to optimize: give at least one range "
                             "(\"START:STOP:STEP\" or a list of values)")  # fmt: skip
    if body.method == "grid":
        size = grid_size(space)
        if size > MAX_TRIALS:
            raise _unprocessable(f"params: the grid has {size} combinations (at most "
                                 f"{MAX_TRIALS}): narrow the ranges or use bayesian")  # fmt: skip
        try:
            valid_grid(strategy, space)
        except UsageError as exc:
            raise _unprocessable(f"params: {exc}") from None
    _check_data(ctx, body.symbols)


def _check_dates(start: date | None, end: date | None) -> None:
    if start and end and start >= end:
        raise _unprocessable(f"start_date {start} must be before end_date {end}")


def _check_data(ctx: Context, symbols: list[str]) -> None:
    from tradd.marketdata.store import DataStore

    store, bar = DataStore(ctx.settings.data.dir), ctx.settings.data.default_bar
    missing = [s for s in symbols if not store.path_for(s, bar).exists()]
    if missing:
        raise _unprocessable(f"symbols: no {bar} data for {', '.join(missing)} "
                             "(tradd data import)")  # fmt: skip


def _check_compare(ctx: Context, body: CompareJobRequest) -> None:
    """What `tradd compare` would refuse before its first backtest (`prepare`), refused
    now with the field named: a strategy that does not load, more parameter tables than
    strategies, a parameter the strategy has not, of the wrong type or invalid."""
    from tradd.research.compare.sources import OPTION, ParamsSource, params_for
    from tradd.strategy_loader import full_params, invalid_reason, load_strategy

    _check_dates(body.start_date, body.end_date)
    classes = []
    for path in body.strategies:
        try:
            classes.append(load_strategy(path))
        except UsageError as exc:
            raise _unprocessable(f"strategies: {exc}") from None
    if len(body.params) > len(body.strategies):
        raise _unprocessable(f"params: {len(body.params)} entries for {len(body.strategies)} "
                             "strategies (one per strategy, in order)")  # fmt: skip
    for i, given in enumerate(body.params):
        if not given:
            continue
        where, path = f"params[{i}]", body.strategies[i]
        try:
            typed = params_for(ParamsSource(Path(where), "toml", None, dict(given)), path,
                               classes[i])  # fmt: skip
        except UsageError as exc:
            raise _unprocessable(str(exc).replace(f"{OPTION} ", "", 1)) from None
        reason = invalid_reason(classes[i], full_params(classes[i], typed))
        if reason:
            raise _unprocessable(f"{where}: invalid parameters for {path}: {reason}")
    _check_data(ctx, body.symbols)


def _check_windows(body: WalkForwardJobRequest) -> None:
    """With both dates given, at least one window must fit (else the job fails at once)."""
    from tradd.research.walkforward.windows import plan_windows

    if body.start_date is None or body.end_date is None or body.start_date >= body.end_date:
        return
    try:
        plan_windows(body.start_date, body.end_date, body.is_months, body.oos_months, body.mode)
    except UsageError as exc:
        raise _unprocessable("is_months: " + str(exc)) from None
