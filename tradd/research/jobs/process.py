"""What the console's job runner and the daemon's scheduler share about a job's process.

Both start the same CLI command in a session of its own with its output in the job's
`job.log`, tell whether a recorded pid still runs on this host, say how a process ended,
and quote the end of its log when it died before recording its run.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

from tradd.research.jobs.store import JobRecord

JOB_LOG = "job.log"
LOG_TAIL_CHARS = 1500


def recorded_pid_alive(job: JobRecord, host: str) -> bool:
    """Whether the job's recorded process still runs. Another host's process cannot be
    looked at from here: True (its run's lease will tell)."""
    if job.pid is None or job.host != host:
        return job.pid is not None
    try:
        os.kill(job.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def ending(code: int) -> str:
    """How a process ended, from its return code: "was killed by SIGKILL", "exited with 3"."""
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with {code}"


def log_tail(path: Path) -> str:
    """The end of a job's log (its own last words), or "" when there is none."""
    try:
        text = path.read_text(errors="replace").strip()
    except OSError:
        return ""
    return text[-LOG_TAIL_CHARS:]
