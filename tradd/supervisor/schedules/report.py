"""What a scheduled job's end says through the alert channels.

A finished job is a `schedule_complete` alert: its subject (what SMS and webhooks show)
is one line (the best parameters and score of an optimize or walk-forward, a scan's top
picks); the email carries the self-contained HTML report the command wrote (drift and
compare write one), or, for commands that write JSON and CSV only (scan, optimize,
walk-forward), one rendered here from the run's summary into the job's directory. A job
that failed, was killed or was interrupted is a `schedule_failed` alert with the last
lines of its log.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from tradd.alerts.model import AlertEvent
from tradd.records.events import EventKind
from tradd.research.jobs.process import JOB_LOG, log_tail

SUMMARY_REPORT = "schedule-report.html"
PICKS = 5


@dataclass(frozen=True)
class JobEnd:
    """A scheduled job as it ended."""

    schedule: str
    kind: str
    job_id: str
    owner: str
    output: Path
    status: str
    """complete, failed, interrupted (the run's), or failed for a job with no run."""
    summary: Mapping[str, Any] | None
    error: str | None


def end_event(end: JobEnd, at: datetime) -> AlertEvent:
    """The alert of `end`: complete with its report, or failed with its log's end."""
    data: dict[str, Any] = {"schedule": end.schedule, "job_id": end.job_id,
                            "job_kind": end.kind, "owner": end.owner,
                            "output": str(end.output)}  # fmt: skip
    what = f"schedule {end.schedule}: {end.kind} job {end.job_id}"
    if end.status == "complete":
        line = one_line(end.kind, end.summary or {})
        data["report_html"] = str(report_file(end))
        return AlertEvent(EventKind.SCHEDULE_COMPLETE, "info",
                          f"{what} complete" + (f": {line}" if line else ""), at,
                          data={**data, "summary": line}, key=end.job_id)  # fmt: skip
    tail = log_tail(end.output / JOB_LOG)
    reason = " ".join((end.error or f"the run ended {end.status}").split())[-300:]
    data["log_tail"] = tail
    return AlertEvent(EventKind.SCHEDULE_FAILED, "warning", f"{what} {end.status}: {reason}",
                      at, data={**data, "error": reason}, key=end.job_id)  # fmt: skip


def one_line(kind: str, summary: Mapping[str, Any]) -> str:
    """The summary an SMS can hold: best params and score, or a scan's top picks."""
    if kind == "scan":
        return _scan_picks(summary)
    if kind in ("optimize", "walkforward"):
        params = summary.get("best_params") or summary.get("params")
        score = summary.get("best_value", summary.get("efficiency"))
        parts = []
        if isinstance(params, Mapping) and params:
            parts.append("best " + ", ".join(f"{k}={v}" for k, v in params.items()))
        if isinstance(score, int | float):
            parts.append(f"score {score:.4g}")
        return "; ".join(parts)
    drift = summary.get("drift_pct")
    return f"drift {drift:.2f}%" if isinstance(drift, int | float) else ""


def _scan_picks(summary: Mapping[str, Any]) -> str:
    best = summary.get("best")
    if not isinstance(best, Mapping):
        return ""
    rows = [(symbol, b) for symbol, b in best.items() if isinstance(b, Mapping)]
    rows.sort(key=lambda r: -float(r[1].get("composite_score") or 0.0))
    picks = [f"{symbol} {str(b.get('strategy') or '-').rsplit('.', 1)[-1]} "
             f"({float(b.get('composite_score') or 0.0):.3g})"
             for symbol, b in rows[:PICKS]]  # fmt: skip
    return "top picks: " + ", ".join(picks) if picks else ""


def report_file(end: JobEnd) -> Path:
    """The command's own HTML report in the job's directory, else one rendered from the
    run's summary (written there, so the console's downloads have it too)."""
    own = sorted(p for p in end.output.glob("*.html") if p.name != SUMMARY_REPORT)
    if own:
        return own[0]
    path = end.output / SUMMARY_REPORT
    path.write_text(summary_html(end))
    return path


def summary_html(end: JobEnd) -> str:
    """A self-contained page: the job, its one-line summary and the run's summary."""
    title = html.escape(f"{end.kind} job {end.job_id} (schedule {end.schedule})")
    line = html.escape(one_line(end.kind, end.summary or {}))
    body = html.escape(json.dumps(end.summary or {}, indent=2, default=str))
    return (f"<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title>"
            "<style>body{font-family:sans-serif;margin:2em}pre{background:#f4f4f4;"
            f"padding:1em}}</style></head><body><h1>{title}</h1><p>{line}</p>"
            f"<pre>{body}</pre></body></html>\n")  # fmt: skip
