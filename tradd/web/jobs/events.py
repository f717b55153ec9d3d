"""A job's progress as Server-Sent Events (`GET /api/v1/jobs/{job_id}/events`).

The stream looks at the job every `interval` seconds, as the 2-second polling of the
status endpoint would, but on the server: no request per look, and the browser's
`EventSource` reconnects by itself. Events (each `data` one line of JSON):

- `progress`: the job's status (`JobStatus`: status, done/total, percent, ETA), when it
  changed, and at least every `refresh` seconds while it runs (the ETA moves);
- `leaderboard`: the best so far (`Leaderboard`), whenever the running command rewrote
  its `leaderboard.json` (optimize and walk-forward jobs; a compare job's strategies
  finished so far, by Sharpe; a scan has none);
- `end`: the final status, once the job completed, failed or was cancelled; the stream
  then closes. A job deleted meanwhile ends the stream with `end` and its `detail`.

A comment line every `heartbeat` seconds keeps proxies from closing a quiet stream. The
database is read in a worker thread, never on the event loop.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
from fastapi import HTTPException, Request

from tradd.users.records import User
from tradd.web.context import WebContext
from tradd.web.jobs import service
from tradd.web.jobs.research_views import leaderboard_file, leaderboard_of
from tradd.web.records import JobKind, JobStatus, JobStatusName

ENDED = frozenset({JobStatusName.COMPLETED, JobStatusName.FAILED, JobStatusName.CANCELLED})
RETRY_MS = 3000


@dataclass(frozen=True)
class StreamTiming:
    interval: float = 0.5
    refresh: float = 2.0
    heartbeat: float = 15.0


@dataclass(frozen=True)
class Snapshot:
    status: JobStatus | None
    output: Path | None
    gone: str | None = None


def snapshot(ctx: WebContext, user: User, job_id: str) -> Snapshot:
    try:
        found = service.find(ctx, user, job_id)
    except HTTPException as exc:
        return Snapshot(None, None, str(exc.detail))
    output = found.job.output if found.job else (found.run.output if found.run else None)
    return Snapshot(service.status_of(ctx, found), Path(output) if output else None)


def frame(event: str, data: Any, number: int) -> str:
    return f"id: {number}\nevent: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


async def job_events(
    ctx: WebContext,
    user: User,
    job_id: str,
    request: Request,
    timing: StreamTiming,
    monotonic: Callable[[], float],
) -> AsyncIterator[str]:
    number = 0
    last_progress: tuple[Any, ...] | None = None
    last_progress_at = last_sent_at = monotonic()
    last_board: float | None = None
    yield f"retry: {RETRY_MS}\n\n"
    while True:
        seen = await anyio.to_thread.run_sync(snapshot, ctx, user, job_id)
        now = monotonic()
        if seen.status is None:
            number += 1
            yield frame("end", {"job_id": job_id, "detail": seen.gone}, number)
            return
        state = seen.status
        board = _board_stamp(state.kind, seen.output)
        if board is not None and board != last_board:
            last_board = board
            leaders = await anyio.to_thread.run_sync(leaderboard_of, job_id, state.kind,
                                                     seen.output)  # fmt: skip
            if leaders is not None:
                number += 1
                last_sent_at = now
                yield frame("leaderboard", leaders.model_dump(mode="json"), number)
        if state.status in ENDED:
            number += 1
            yield frame("end", state.model_dump(mode="json"), number)
            return
        key = (state.status, state.done, state.total, state.queue_position)
        if key != last_progress or now - last_progress_at >= timing.refresh:
            last_progress, last_progress_at, last_sent_at = key, now, now
            number += 1
            yield frame("progress", state.model_dump(mode="json"), number)
        elif now - last_sent_at >= timing.heartbeat:
            last_sent_at = now
            yield ": keep-alive\n\n"
        if await request.is_disconnected():
            return
        await anyio.sleep(timing.interval)


def _board_stamp(kind: JobKind, output: Path | None) -> float | None:
    """The leaderboard file's modification time (ns), to send it only when rewritten."""
    if output is None:
        return None
    try:
        return float(leaderboard_file(kind, output).stat().st_mtime_ns)
    except OSError:
        return None
