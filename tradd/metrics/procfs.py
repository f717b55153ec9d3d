"""Memory and CPU of the worker processes, read from /proc at scrape time.

prometheus_client's ProcessCollector describes one process (the supervisor); the
workers are where the strategies' memory and CPU go, so each gets its own samples,
labelled by strategy. Linux only: elsewhere, or for a process that just exited, the
samples are left out.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ProcessStats:
    resident_bytes: float
    cpu_seconds: float


class ProcReader:
    def __init__(self, proc: Path = Path("/proc")) -> None:
        self._proc = proc
        try:
            self._ticks = float(os.sysconf("SC_CLK_TCK"))
            self._page = float(os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):
            self._ticks = self._page = 0.0

    def read(self, pid: int | None) -> ProcessStats | None:
        if pid is None or not self._ticks:
            return None
        try:
            text = (self._proc / str(pid) / "stat").read_text()
        except OSError:
            return None
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        fields = text.rpartition(")")[2].split()
        try:
            utime, stime, rss = int(fields[11]), int(fields[12]), int(fields[21])
        except (IndexError, ValueError):
            return None
        return ProcessStats(rss * self._page, (utime + stime) / self._ticks)
