"""`tradctl schedules list|run NAME`: the arguments and the text of the replies.

Apart from `schedule_commands` (the daemon's side) because tradctl stays light: it imports
neither pydantic nor the database (`tests/control/test_tradctl.py`), so the reply is read
as the plain JSON of `tradd.records.schedules` here.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any


def add_parser(sub: Any, json_too: list[argparse.ArgumentParser]) -> None:
    """`tradctl schedules list|run NAME` (argparse subcommands)."""
    schedules = sub.add_parser("schedules", parents=json_too)
    actions = schedules.add_subparsers(dest="action", required=True)
    actions.add_parser("list", parents=json_too)
    actions.add_parser("run", parents=json_too).add_argument("name")


def request_args(ns: argparse.Namespace) -> dict[str, Any]:
    return {"action": ns.action, **({"name": ns.name} if ns.action == "run" else {})}


def schedules_text(result: Any) -> str:
    """`list`'s table (name, kind, when, last run with its job and state, next run), or
    `run`'s one line naming the job."""
    if isinstance(result, dict) and "job_id" in result:
        return f"schedule {result['name']}: started job {result['job_id']}"
    rows = result.get("schedules") if isinstance(result, dict) else None
    if not rows:
        return "no schedules configured"
    lines = [f"{'NAME':<16} {'KIND':<12} {'WHEN':<38} {'LAST RUN':<50} NEXT RUN"]
    for row in rows:
        last = row.get("last")
        shown = "-"
        if last:
            manual = " (manual)" if last.get("manual") else ""
            shown = f"{_minute(last['fired_at'])} {last['job_id']} {last['state']}{manual}"
        upcoming = _minute(row["next_due"]) if row.get("next_due") else "-"
        if not row.get("enabled", True):
            upcoming = "disabled"
        lines.append(f"{row['name']:<16} {row['kind']:<12} {row['when']:<38} {shown:<50} "
                     f"{upcoming}")  # fmt: skip
    return "\n".join(lines)


def _minute(stamp: str) -> str:
    """An ISO timestamp as `2026-12-08 22:30 UTC`."""
    return datetime.fromisoformat(stamp).strftime("%Y-%m-%d %H:%M %Z").strip()
