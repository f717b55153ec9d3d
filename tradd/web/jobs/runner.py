"""`JobRunner`: starts queued jobs as processes, within the limits, and keeps house.

One thread, one loop: every `dispatch_interval` it reaps the processes it started, fails
the jobs whose process ended before its run was recorded (with the last lines the
process wrote), and starts queued jobs while fewer than `max_running_jobs` run. Every
`housekeeping_interval` it marks dead runs failed (`reap_dead_runs`), deletes the jobs
finished more than `retention_days` ago (record, run and files) and expires the backtest
cache.

A job's process is in a session of its own: stopping or restarting the console does not
stop it. A console started later finds it through its run's lease, like any run.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import structlog

from tradd.research.jobs.process import JOB_LOG, ending, log_tail, recorded_pid_alive
from tradd.research.jobs.store import JobRecord, JobStore
from tradd.research.runs.lease import last_sign_of_life, reap_dead_runs
from tradd.research.runs.store import RunStore

log = structlog.get_logger("tradd.web.jobs")


@dataclass(frozen=True)
class RunnerLimits:
    max_running: int
    retention: timedelta
    dispatch_interval: float
    housekeeping_interval: float


Launch = Callable[[JobRecord], list[str]]
"""The argv of a queued job's process."""


class JobRunner:
    def __init__(
        self,
        jobs: JobStore,
        runs: RunStore,
        limits: RunnerLimits,
        launch: Launch,
        expire_cache: Callable[[], int],
        clock: Callable[[], datetime],
        monotonic: Callable[[], float],
        on_end: Callable[[str], None] = lambda job_id: None,
    ) -> None:
        """`on_end(job_id)`: a job this runner started has ended (its process exited, or
        it was marked failed): the console's notifications."""
        self._jobs, self._runs, self._limits = jobs, runs, limits
        self._on_end = on_end
        self._launch, self._expire_cache = launch, expire_cache
        self._clock, self._monotonic = clock, monotonic
        self._children: dict[str, subprocess.Popen[bytes]] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_housekeeping: float | None = None
        self.host = socket.gethostname()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="job-runner", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the loop; the jobs' processes go on (they are not the console's)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def poke(self) -> None:
        """Look at the queue now (a job was added or cancelled)."""
        self._wake.set()

    def tick(self) -> None:
        """One round: reap, fail the lost, start what fits; housekeeping when it is due."""
        with self._lock:
            self._reap_children()
            self._fail_lost()
            self._dispatch()
            now = self._monotonic()
            due = self._last_housekeeping is None or (
                now - self._last_housekeeping >= self._limits.housekeeping_interval
            )
            if due:
                self._last_housekeeping = now
                self.housekeeping()

    def running_ids(self) -> set[str]:
        """Started jobs whose run goes on or has not been recorded yet."""
        ids = set()
        for job in self._jobs.started():
            run = self._runs.get(job.id)
            if (run is None and self._alive(job)) or (run is not None and run.status == "running"):
                ids.add(job.id)
            elif run is not None:
                self._jobs.mark_ended(job.id)  # its run tells the rest; stop watching it
        return ids

    def cancel(self, job: JobRecord) -> bool:
        """Cancel a queued job, or interrupt a started one (SIGINT to its process group: the
        command keeps what it finished and records its run as interrupted). True if there
        was something to cancel."""
        if job.state == "queued":
            cancelled = self._jobs.mark_cancelled(job.id)
            self.poke()
            return cancelled
        if job.state != "started" or job.pid is None or job.host != self.host:
            return False
        run = self._runs.get(job.id)
        if run is not None and run.status != "running":
            return False
        self._jobs.request_cancel(job.id)
        try:
            os.killpg(job.pid, signal.SIGINT)
        except (ProcessLookupError, PermissionError):
            return False
        log.info("job interrupted", job_id=job.id, pid=job.pid)
        return True

    def housekeeping(self) -> None:
        try:
            reaped = reap_dead_runs(self._runs)
            if reaped:
                log.warning("dead research runs marked failed", runs=[r.id for r in reaped])
            self._expire_old()
            self._expire_cache()
        except Exception as exc:  # the loop must survive a database outage
            log.warning("housekeeping failed; trying again later", error=str(exc))

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception as exc:  # a database outage must not end the loop
                log.warning("job runner round failed; trying again", error=str(exc))
            self._wake.wait(self._limits.dispatch_interval)
            self._wake.clear()

    def _reap_children(self) -> None:
        for job_id, child in list(self._children.items()):
            code = child.poll()
            if code is None:
                continue
            del self._children[job_id]
            log.info("job process ended", job_id=job_id, exit_code=code)
            job = self._jobs.get(job_id)
            if job is None:
                continue  # deleted
            run = self._runs.get(job_id)
            if run is None:
                if job.cancel_requested:
                    self._jobs.mark_cancelled(job_id, started=True)
                else:
                    tail = log_tail(Path(job.output) / JOB_LOG)
                    self._jobs.mark_failed(job_id, tail or f"the job's process ended ({code})")
            else:  # its run tells how it ended; one still `running` died with its process
                if run.status == "running":  # killed (SIGKILL, out of memory) mid-run
                    reason = (f"the job's process (pid {child.pid}) {ending(code)} without "
                              "finishing its run")  # fmt: skip
                    if self._runs.fail_dead(run, reason, last_sign_of_life(run)):
                        log.warning("job's run marked failed", job_id=job_id, reason=reason)
                self._jobs.mark_ended(job_id)
            self._ended(job_id)

    def _fail_lost(self) -> None:
        """Started jobs with no run whose process is gone (the console restarted meanwhile)."""
        for job in self._jobs.started():
            if job.id in self._children or self._runs.get(job.id) is not None:
                continue
            if not self._alive(job):
                tail = log_tail(Path(job.output) / JOB_LOG)
                self._jobs.mark_failed(job.id, tail or "the job's process ended before its run "
                                       "was recorded")  # fmt: skip
                self._ended(job.id)

    def _dispatch(self) -> None:
        free = self._limits.max_running - len(self.running_ids())
        for job in self._jobs.queued()[: max(0, free)]:
            self._spawn(job)

    def _spawn(self, job: JobRecord) -> None:
        output = Path(job.output)
        output.mkdir(parents=True, exist_ok=True)
        try:
            argv = self._launch(job)
            with (output / JOB_LOG).open("ab") as sink:
                child = subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=sink,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
        except (OSError, ValueError) as exc:
            self._jobs.mark_failed(job.id, f"could not start the job: {exc}")
            self._ended(job.id)
            return
        if not self._jobs.mark_started(job.id, self.host, child.pid):
            os.killpg(child.pid, signal.SIGINT)  # cancelled between the read and the start
        self._children[job.id] = child
        log.info("job started", job_id=job.id, kind=job.kind, owner=job.owner, pid=child.pid)

    def _ended(self, job_id: str) -> None:
        try:
            self._on_end(job_id)
        except Exception as exc:  # a notification must never stop the runner
            log.warning("job end hook failed", job_id=job_id, error=repr(exc))

    def _alive(self, job: JobRecord) -> bool:
        if job.id in self._children:
            return self._children[job.id].poll() is None
        return recorded_pid_alive(job, self.host)

    def _expire_old(self) -> None:
        for job in self._jobs.ended_before(self._clock() - self._limits.retention):
            self.delete(job)
            log.info("finished job deleted after the retention period", job_id=job.id)

    def delete(self, job: JobRecord) -> None:
        """The job's record, its run and its files."""
        self._jobs.delete(job.id)
        self._runs.delete(job.id)
        shutil.rmtree(job.output, ignore_errors=True)
