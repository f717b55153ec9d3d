"""What a job looks like to the API: its status (from the job and its run) and results.

A job's status is its launch state until it starts, then its run's: `complete` answers
`completed`, `interrupted` (cancelled) `cancelled`. A run started from the command line
has no job; it shows with no owner.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from tradd.research.jobs.store import JobRecord
from tradd.research.runs.store import RunRecord
from tradd.web.records import (
    JobKind,
    JobStatus,
    JobStatusName,
    ScanResults,
    StrategyResult,
    SymbolResults,
)

RUN_TO_JOB = {
    "running": JobStatusName.RUNNING,
    "complete": JobStatusName.COMPLETED,
    "failed": JobStatusName.FAILED,
    "interrupted": JobStatusName.CANCELLED,
}


def job_status(
    job: JobRecord | None,
    run: RunRecord | None,
    now: datetime,
    queue_position: int | None = None,
) -> JobStatus:
    """The status of a job (and its run, once there is one) or of a CLI run alone."""
    if job is None and run is None:
        raise ValueError("a status needs a job or a run")
    status = _status(job, run)
    done = run.progress_done if run else 0
    total = run.progress_total if run else None
    started = (job.started_at if job else None) or (run.created_at if run else None)
    finished = (run.finished_at if run else None) or (job.finished_at if job else None)
    summary = (run.summary or {}) if run else {}
    hits = summary.get("cache_hits")
    return JobStatus(
        job_id=job.id if job else run.id,  # type: ignore[union-attr]
        kind=JobKind(job.kind if job else run.kind),  # type: ignore[union-attr]
        owner=job.owner if job else None,
        status=status,
        done=done,
        total=total,
        progress=_percent(status, done, total),
        eta_seconds=_eta(status, started, now, done, total),
        created_at=job.created_at if job else run.created_at,  # type: ignore[union-attr]
        started_at=started if status is not JobStatusName.QUEUED else None,
        finished_at=finished
        if status not in (JobStatusName.QUEUED, JobStatusName.RUNNING)
        else None,
        error=(run.error if run and run.error else None) or (job.error if job else None),
        cache_hits=hits if isinstance(hits, int) else None,
        queue_position=queue_position if status is JobStatusName.QUEUED else None,
    )


def _status(job: JobRecord | None, run: RunRecord | None) -> JobStatusName:
    if job is not None and job.state != "started":
        return JobStatusName(job.state)
    if run is None:
        return JobStatusName.RUNNING  # started, its run not recorded yet
    return RUN_TO_JOB.get(run.status, JobStatusName.FAILED)


def _percent(status: JobStatusName, done: int, total: int | None) -> float:
    if status is JobStatusName.COMPLETED:
        return 100.0
    if not total:
        return 0.0
    return round(min(100.0, 100.0 * done / total), 1)


def _eta(
    status: JobStatusName, started: datetime | None, now: datetime, done: int, total: int | None
) -> float | None:
    """Seconds left at the pace so far; None before the first result or once finished."""
    if status is not JobStatusName.RUNNING or started is None or not total or done <= 0:
        return 0.0 if status is JobStatusName.COMPLETED else None
    elapsed = max(0.0, (now - started).total_seconds())
    return round(elapsed * (total - done) / done, 1)


def scan_results(
    job_id: str, status: JobStatusName, run: RunRecord | None, read: Callable[[Path], str]
) -> ScanResults:
    """Per symbol the ranked strategies, from the scan's own `scan.json` (what the CLI
    wrote), the best first; empty until the scan completes."""
    summary = (run.summary or {}) if run else {}
    document = _document(run, read) if status is JobStatusName.COMPLETED else {}
    rows: list[dict[str, Any]] = list(document.get("rows") or [])
    best = summary.get("best") or {}
    results = []
    for symbol in sorted({str(r["symbol"]) for r in rows}):
        mine = sorted((r for r in rows if r["symbol"] == symbol),
                      key=lambda r: (r.get("rank") is None, r.get("rank") or 0))  # fmt: skip
        chosen = best.get(symbol) or {}
        results.append(SymbolResults(
            symbol=symbol,
            best_strategy=chosen.get("strategy"),
            strategies=[_strategy(r) for r in mine],
        ))  # fmt: skip
    hits = summary.get("cache_hits")
    return ScanResults(job_id=job_id, status=status, period=summary.get("period"),
                       cache_hits=hits if isinstance(hits, int) else None,
                       results=results)  # fmt: skip


def _document(run: RunRecord | None, read: Callable[[Path], str]) -> dict[str, Any]:
    if run is None or not run.output:
        return {}
    try:
        loaded = json.loads(read(Path(run.output) / "scan.json"))
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _strategy(row: dict[str, Any]) -> StrategyResult:
    return StrategyResult(
        strategy=str(row["strategy"]),
        composite_score=row.get("composite_score"),
        rank=row.get("rank"),
        total_return=row.get("total_return"),
        sharpe=row.get("sharpe"),
        max_drawdown=row.get("max_drawdown"),
        win_rate=row.get("win_rate"),
        total_trades=row.get("total_trades"),
        error=row.get("error"),
        cached=bool(row.get("cached")),
    )
