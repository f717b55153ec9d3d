"""Rich output for `tradd runs list` and `tradd runs show`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tradd.research.runs.store import RunRecord


def progress_text(run: RunRecord) -> str:
    if run.progress_total:
        share = 100.0 * run.progress_done / run.progress_total
        return f"{run.progress_done}/{run.progress_total} ({share:.0f}%)"
    return str(run.progress_done)


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else "-"


def print_list(console: Console, runs: Sequence[RunRecord]) -> None:
    if not runs:
        console.print("no runs recorded")
        return
    table = Table(title="research runs (newest first)")
    for column in ("id", "kind", "status", "started (UTC)", "finished (UTC)", "progress",
                   "output"):  # fmt: skip
        table.add_column(column)
    for run in runs:
        cells = (run.kind, run.status, _when(run.created_at), _when(run.finished_at))
        table.add_row(escape(run.id), *cells, progress_text(run), escape(run.output or "-"))
    console.print(table)


def print_run(console: Console, run: RunRecord) -> None:
    table = Table(title=escape(f"run {run.id}"), show_header=False)
    table.add_column("field")
    table.add_column("value", overflow="fold")
    for name, value in (
        ("kind", run.kind),
        ("status", run.status),
        ("started (UTC)", _when(run.created_at)),
        ("finished (UTC)", _when(run.finished_at)),
        ("progress", progress_text(run)),
        ("process", run.owner.describe() if run.owner else "-"),
        ("alive (UTC)", _when(run.alive_at) if run.status == "running" else "-"),
        ("output", run.output or "-"),
        ("error", run.error or "-"),
        ("request", json.dumps(run.request, indent=2)),
        ("summary", json.dumps(run.summary, indent=2) if run.summary is not None else "-"),
    ):
        table.add_row(name, escape(value))
    console.print(table)
