"""Which process runs a research run, and whether that process is still the one running.

A pid alone does not name a process: after the run's process died the kernel may give
its pid to another one (after a reboot, certainly). So a run records its process's start
as well: on Linux the boot id and field 22 of `/proc/<pid>/stat` (the start in clock ticks
since boot), exact and the same every time it is read, unlike a wall-clock start time
derived from it. A process whose pid exists but whose start differs is another process.

Where `/proc` does not exist (macOS), the start is not recorded and a pid cannot be
checked: such runs are reaped by their lease alone (`tradd.research.runs.lease`). Host
names must tell machines (and pid namespaces) apart: two containers sharing a host name
and a database but not a pid namespace would read each other's pids.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
STARTTIME_FIELD = 22
"""`starttime` in proc(5), counting from 1; fields 1 and 2 are the pid and `(comm)`."""
GONE_STATES = frozenset("ZX")
"""A zombie (killed, not yet waited for) or dead task: its process no longer runs."""


@dataclass(frozen=True)
class Owner:
    """The process running a run: host name, pid and start (None: cannot be read here)."""

    host: str
    pid: int
    start: str | None

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host}"


def this_process(proc: Path = PROC) -> Owner:
    pid = os.getpid()
    return Owner(socket.gethostname(), pid, process_start(pid, proc))


def process_start(pid: int, proc: Path = PROC) -> str | None:
    """`<boot id>/<start ticks>` of a running process; None if there is none (or a zombie)
    or `/proc` cannot be read."""
    try:
        stat = (proc / str(pid) / "stat").read_text()
    except (OSError, ValueError):
        return None
    # `comm` may hold spaces and parentheses: the fields after it start after the last ')'.
    fields = stat[stat.rfind(")") + 2 :].split()
    index = STARTTIME_FIELD - 3  # fields[0] is field 3, the state
    if len(fields) <= index or fields[0] in GONE_STATES:
        return None
    return f"{_boot_id(proc)}/{fields[index]}"


def _boot_id(proc: Path) -> str:
    try:
        return (proc / "sys" / "kernel" / "random" / "boot_id").read_text().strip()
    except OSError:
        return "-"


@dataclass(frozen=True)
class ProcessTable:
    """This host's processes as the reaper sees them: `host` and where `/proc` is."""

    host: str
    proc: Path = PROC

    @classmethod
    def here(cls) -> ProcessTable:
        return cls(socket.gethostname())

    @property
    def readable(self) -> bool:
        return (self.proc / "self" / "stat").is_file()

    def runs(self, owner: Owner) -> bool | None:
        """Whether `owner` still runs: None when it cannot be told from here (another
        host, no `/proc`); False when its pid is gone or belongs to a later process."""
        if owner.host != self.host or not self.readable:
            return None
        start = process_start(owner.pid, self.proc)
        if start is None:
            return False
        return owner.start is None or start == owner.start
