"""What a crashed worker said last: the newest error in its JSON log, for the alert.

A worker that dies of a strategy exception cannot report it over its channel any more;
its log file (JSON lines, `logs/worker-<name>.log`) still has it.
"""

from __future__ import annotations

import json
from pathlib import Path

TAIL_BYTES = 64 * 1024


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
