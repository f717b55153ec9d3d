"""A run's lease: renewed while its process lives, and the reaper that reads it.

Without it a run whose process was killed (SIGKILL, out of memory, a machine that lost
power) stayed `running` forever: nothing was left to write its end. Now each run records
its process (`Owner`) and renews `alive_at` every `lease_s` seconds from a daemon thread
(`LeaseKeeper`), and whoever reads the runs (`tradd runs list` and `show`, a new run
starting, the web console) first calls `reap_dead_runs`, which marks `failed`, with the
reason, every `running` run that

(a) belongs to a process of this host that no longer runs: its pid is gone, a zombie, or
    now another process (another start time): "the process (pid N on HOST) ended without
    finishing the run"; or
(b) cannot be checked that way (another host, no `/proc`) and whose lease is older than
    `STALE_LEASES` intervals (its own interval, as recorded): "no sign of life from pid N
    on HOST since TIME". A run recorded before leases existed (no process, no `alive_at`)
    counts its `created_at` as its last sign of life, with this store's interval.

A process of this host that still runs keeps its run, however old its lease: the process
table is the better witness (its lease may only be late because the database was out of
reach). A run marked failed by (b) whose process was in fact alive (a network partition)
is corrected when that process finishes it: `finish` writes the real end over it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

import structlog

from tradd.research.runs.process import ProcessTable
from tradd.research.runs.store import RunRecord, RunStore

STALE_LEASES = 3
"""A lease not renewed for this many intervals is stale: two renewals may be late or lost
(a busy database, a paused VM), a third in a row means nobody is there."""
LOG_EVERY_S = 60.0
"""A failing renewal is logged at most this often (with the count of failures since)."""
STOP_JOIN_S = 5.0
"""How long stopping waits for a renewal under way (a hung database must not hang exit)."""

log = structlog.get_logger("tradd.research.runs")


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def death(
    run: RunRecord, now: datetime, processes: ProcessTable, lease_interval: float
) -> str | None:
    """Why `run` (status running) is dead, or None while it may be alive.

    `lease_interval` applies to a run that recorded none (before leases existed)."""
    if run.owner is not None:
        runs = processes.runs(run.owner)
        if runs is False:
            return f"the process ({run.owner.describe()}) ended without finishing the run"
        if runs is True:
            return None
    last_sign = last_sign_of_life(run)
    interval = run.lease_s if run.lease_s is not None else lease_interval
    if now - last_sign <= timedelta(seconds=STALE_LEASES * interval):
        return None
    if run.owner is None:
        return (f"no sign of life since {_when(last_sign)} (the run was started by a tradd "
                "that did not record its process)")  # fmt: skip
    return f"no sign of life from {run.owner.describe()} since {_when(last_sign)}"


def last_sign_of_life(run: RunRecord) -> datetime:
    return run.alive_at if run.alive_at is not None else run.created_at


def reap_dead_runs(store: RunStore, processes: ProcessTable | None = None) -> list[RunRecord]:
    """Mark every dead `running` run failed with its reason; returns them as they are now.

    One call for every reader: `tradd runs`, a run starting, the web console. A run that
    finished or renewed its lease since it was read is left alone."""
    processes = processes or ProcessTable.here()
    now = store.now()
    reaped: list[RunRecord] = []
    for run in store.running():
        reason = death(run, now, processes, store.lease_interval)
        if reason is not None and store.fail_dead(run, reason, last_sign_of_life(run)):
            log.info("research run reaped", run_id=run.id, reason=reason)
            found = store.get(run.id)
            if found is not None:
                reaped.append(found)
    return reaped


Wait = Callable[[float], bool]
"""`wait(interval)`: True when the keeper is to stop, False when it is time to renew."""


class LeaseKeeper:
    """Renews one run's lease every `interval` seconds on a daemon thread of its own.

    The research work never waits for it (a renewal is one short write, on its own
    connection), and it never stops the work: a failing renewal is logged, at most once a
    `LOG_EVERY_S` (by the injected monotonic clock), and tried again next time. It stops
    by itself once the run's record is gone (`tradd runs delete --force`). `wait` replaces
    the timer between renewals (tests); by default it waits on the stop event.
    """

    def __init__(
        self,
        store: RunStore,
        run_id: str,
        interval: float,
        *,
        wait: Wait | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        describe: Callable[[BaseException], str] | None = None,
    ) -> None:
        """`describe` turns a renewal's error into the logged text (default: `first_line`;
        `tracked_run` passes one that also blanks the settings' secrets)."""
        if interval <= 0:
            raise ValueError(f"lease interval {interval!r}: must be above 0")
        self._store, self._run_id, self._interval = store, run_id, interval
        self._stop = threading.Event()
        self._wait = wait or self._stop.wait
        self._monotonic = monotonic
        self._describe = describe or first_line
        self._failures = 0
        self._logged_at: float | None = None
        self._thread = threading.Thread(target=self._run, name=f"lease-{run_id}", daemon=True)

    def start(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def stop(self) -> None:
        """No renewal after this one returns (one under way may finish, up to STOP_JOIN_S)."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=STOP_JOIN_S)

    def join(self, timeout: float | None = None) -> None:
        """Wait for the thread to end (it ends after `stop`, or once the record is gone)."""
        self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        while not self._wait(self._interval) and not self._stop.is_set():
            if not self._renew():
                return

    def _renew(self) -> bool:
        """One renewal; False when the run's record is gone (nothing left to renew)."""
        try:
            found = self._store.renew(self._run_id)
        except Exception as exc:  # any failure: the research goes on
            self._failed(exc)
            return True
        if self._failures:
            log.info("research run lease renewed again", run_id=self._run_id,
                     failed_renewals=self._failures)  # fmt: skip
            self._failures, self._logged_at = 0, None
        if not found:
            log.info("research run record gone: lease no longer renewed", run_id=self._run_id)
        return found

    def _failed(self, exc: Exception) -> None:
        self._failures += 1
        now = self._monotonic()
        if self._logged_at is not None and now - self._logged_at < LOG_EVERY_S:
            return
        self._logged_at = now
        log.warning("could not renew the research run's lease", run_id=self._run_id,
                    error=self._describe(exc), failures=self._failures)  # fmt: skip


def first_line(exc: BaseException) -> str:
    """`Type: the first line of the message` (a driver's error carries its SQL after it)."""
    lines = str(exc).splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
