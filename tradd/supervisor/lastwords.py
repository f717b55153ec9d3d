"""What a crashed worker said last, for the alert: the exception it exited with.

A worker that dies cannot report over its channel any more. It writes the exception that
ended it to its exit report (see tradd.worker.exitreport); only when there is none (a
signal, or a process that died too hard to write it) does the newest error line of its
JSON log stand in, labelled as such: that line may be about something else.
"""

from __future__ import annotations

import contextlib
import json
import signal
from pathlib import Path

from tradd.worker.exitreport import ExitReport

TAIL_BYTES = 64 * 1024


def exit_report_path(channel: Path) -> Path:
    """Where the worker on `channel` writes its exit report (beside its socket)."""
    return channel.with_name(f"{channel.stem}.exit.json")


def clear_exit_report(path: Path) -> None:
    """Before a start: a report left by an earlier process must not be read as this one's."""
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)


def why_it_exited(code: int | None, report: Path, log_file: Path | None, since: str) -> str:
    """The exception from the exit report; else the signal that killed it; else the
    newest error in its log since `since` (this process's start), marked as a guess."""
    said = ExitReport.read(report)
    if said is not None:
        return said.describe()
    if code is not None and code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
        return f"killed by signal {-code}"
    logged = last_error(log_file, since) if log_file is not None else ""
    return f"no exit report; last error it logged: {logged}" if logged else ""


def last_error(path: Path, since: str = "") -> str:
    """The newest error or critical line's event and error text ("" if none after `since`,
    an ISO timestamp: this process's start)."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - TAIL_BYTES))
            lines = handle.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return ""
    for line in reversed(lines):
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if not isinstance(entry, dict) or entry.get("level") not in ("error", "critical"):
            continue
        if since and str(entry.get("timestamp", "")) < since:
            return ""
        return _describe(entry)[:500]
    return ""


def _describe(entry: dict[str, object]) -> str:
    """`event: error` of a log entry; a worker event's own message when it is one."""
    event = str(entry.get("kind") if entry.get("event") == "worker event" else entry.get("event"))
    detail = entry.get("error") or entry.get("message")
    if not detail and isinstance(entry.get("exception"), str):
        detail = str(entry["exception"]).strip().splitlines()[-1]
    return f"{event}: {detail}" if detail else event
