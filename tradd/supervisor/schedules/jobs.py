"""Scheduled jobs' processes: start one, and tell when one has ended (exactly once).

A job is `python -m tradd <kind> --run-id ID --output DIR ...` in a process session of its
own (as the console's runner starts its jobs), so stopping or restarting the daemon does
not stop it. Its `web_jobs` row is written as already `started`, owned by the schedule's
owner: the console shows it in its history and status and never dispatches it.

An end is seen through the process the daemon started, or, for a job started before a
restart, through its run: a run no longer `running`, or one whose process is gone or
whose lease went stale (`tradd.research.runs.lease.death`). A job with no run whose
process is gone failed before it recorded one.
"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from tradd.research.jobs.process import JOB_LOG, ending, log_tail, recorded_pid_alive
from tradd.research.jobs.store import JobRecord, JobStore
from tradd.research.runs.lease import death, last_sign_of_life
from tradd.research.runs.process import ProcessTable
from tradd.research.runs.store import RunRecord, RunStore


@dataclass(frozen=True)
class Ended:
    """How a job ended: the run's status (complete, failed, interrupted), or `failed`."""

    status: str
    error: str | None
    summary: dict[str, object] | None


class JobProcesses:
    def __init__(self, jobs: JobStore, runs: RunStore, environ: Mapping[str, str], cwd: Path,
                 clock: Callable[[], datetime]) -> None:  # fmt: skip
        self.jobs, self.runs = jobs, runs
        self._environ, self._cwd, self._clock = dict(environ), cwd, clock
        self._children: dict[str, subprocess.Popen[bytes]] = {}
        self.host = socket.gethostname()

    def start(self, job_id: str, kind: str, owner: str, request: dict[str, object],
              argv: list[str], output: Path) -> str | None:  # fmt: skip
        """Start the job's process and record it; the error when it could not start (the
        job is then recorded as failed)."""
        output.mkdir(parents=True, exist_ok=True)
        try:
            with (output / JOB_LOG).open("ab") as sink:
                child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=sink,
                                         stderr=subprocess.STDOUT, start_new_session=True,
                                         cwd=self._cwd, env=self._environ)  # fmt: skip
        except (OSError, ValueError) as exc:
            self.jobs.add(job_id, kind, owner, request, str(output))
            error = f"could not start the job: {exc}"
            self.jobs.mark_failed(job_id, error)
            return error
        self._children[job_id] = child
        self.jobs.add_started(job_id, kind, owner, request, str(output), self.host, child.pid)
        return None

    def ended(self, job_id: str) -> Ended | None:
        """How the job ended, or None while it runs."""
        job, run = self.jobs.get(job_id), self.runs.get(job_id)
        child = self._children.get(job_id)
        if child is not None:
            code = child.poll()
            if code is None:
                return None
            del self._children[job_id]
            return self._after_exit(job, run, f"the job's process {ending(code)}")
        return self._ended_elsewhere(job, run)

    def _ended_elsewhere(self, job: JobRecord | None, run: RunRecord | None) -> Ended | None:
        """A job this daemon did not start (it started before a restart): its run says."""
        if run is not None and run.status == "running":
            reason = death(run, self._clock(), ProcessTable.here(), self.runs.lease_interval)
            return None if reason is None else self._after_exit(job, run, reason)
        if run is not None:
            return Ended(run.status, run.error, run.summary)
        if job is not None and job.state == "failed":
            return Ended("failed", job.error, None)
        if job is not None and self._alive(job):
            return None
        return self._after_exit(job, None, "the job's process ended")

    def _after_exit(self, job: JobRecord | None, run: RunRecord | None, reason: str) -> Ended:
        """The process is gone: its run tells how it ended, or it died mid-run (or before
        recording a run); either way the job leaves the console's watch."""
        if run is not None and run.status == "running":
            error = f"{reason} without finishing its run"
            self.runs.fail_dead(run, error, last_sign_of_life(run))
            run = self.runs.get(run.id)
        if run is not None and run.status != "running":
            if job is not None:
                self.jobs.mark_ended(job.id)
            return Ended(run.status, run.error, run.summary)
        tail = log_tail(Path(job.output) / JOB_LOG) if job is not None else ""
        error = f"{reason} before its run was recorded" + (f": {tail}" if tail else "")
        if job is not None:
            self.jobs.mark_failed(job.id, error)
        return Ended("failed", error, None)

    def _alive(self, job: JobRecord) -> bool:
        return recorded_pid_alive(job, self.host)
