"""A run's lease and the reaper, on the store with an injected clock (SQLite, PostgreSQL).

The reaper is driven by a clock the test sets and by this host's real process table
(with pids and start times that are gone or belong to another process); the lease
keeper by a timer the test ticks (`Ticks`): nothing here waits on time passing.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from structlog.testing import capture_logs

from tests.fixtures.database import OpenedDatabase
from tradd.config.settings import Settings
from tradd.research.runs import RunStore, reap_dead_runs, tracked_run
from tradd.research.runs.lease import LOG_EVERY_S, LeaseKeeper
from tradd.research.runs.process import Owner, ProcessTable, process_start, this_process

T0 = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)
HERE = socket.gethostname()


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Monotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Ticks:
    """The keeper's timer, driven by the test: `tick()` lets one renewal happen and returns
    once the keeper waits again (it is done); `stop()` ends the keeper's loop."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._pending: list[bool] = []  # True: stop
        self._waiting = False
        self.waits = 0

    def wait(self, _interval: float) -> bool:  # on the keeper's thread
        with self._condition:
            self.waits += 1
            self._waiting = True
            self._condition.notify_all()
            self._condition.wait_for(lambda: bool(self._pending))
            self._waiting = False
            return self._pending.pop(0)

    def tick(self, timeout: float = 30) -> None:
        with self._condition:
            assert self._condition.wait_for(lambda: self._waiting, timeout), "keeper not waiting"
            target = self.waits + 1
            self._pending.append(False)
            self._condition.notify_all()
            assert self._condition.wait_for(lambda: self.waits >= target, timeout), "no renewal"

    def release(self) -> None:
        """One renewal, without waiting for the keeper to wait again (it may end)."""
        self._push(False)

    def stop(self) -> None:
        self._push(True)

    def _push(self, stop: bool) -> None:
        with self._condition:
            self._pending.append(stop)
            self._condition.notify_all()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(database: OpenedDatabase, clock: Clock) -> RunStore:
    return RunStore(database.sessions, clock, lease_interval=10.0)


def ended_pid() -> int:
    """The pid of a process that has ended (and been waited for)."""
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                           capture_output=True, text=True, check=True)  # fmt: skip
    return int(child.stdout)


def test_a_run_records_its_process_and_takes_its_lease(store: RunStore) -> None:
    run_id = store.start("scan", {}, None)
    run = store.get(run_id)
    assert run is not None
    assert run.owner == this_process() and run.owner.host == HERE and run.owner.pid == os.getpid()
    assert run.owner.start is not None  # Linux: /proc is there
    assert (run.alive_at, run.lease_s) == (T0, 10.0)
    shown = run.as_dict()
    assert (shown["host"], shown["pid"], shown["alive_at"]) == (HERE, os.getpid(), T0.isoformat())


def test_a_live_run_of_this_host_is_never_reaped_however_old_its_lease(
    store: RunStore, clock: Clock
) -> None:
    run_id = store.start("optimize", {}, None)
    clock.now = T0 + timedelta(days=2)
    assert reap_dead_runs(store) == []
    assert store.get(run_id).status == "running"  # type: ignore[union-attr]


def test_a_dead_pid_of_this_host_is_reaped_at_once(store: RunStore) -> None:
    pid = ended_pid()
    run_id = store.start("scan", {}, None, owner=Owner(HERE, pid, "boot/1"))
    (reaped,) = reap_dead_runs(store)
    assert (reaped.id, reaped.status) == (run_id, "failed")
    assert reaped.error == f"the process (pid {pid} on {HERE}) ended without finishing the run"
    assert reaped.finished_at == T0  # its last sign of life


def test_a_reused_pid_with_another_start_time_counts_as_dead(store: RunStore) -> None:
    mine = this_process()
    assert mine.start is not None
    boot, ticks = mine.start.rsplit("/", 1)
    earlier = Owner(HERE, mine.pid, f"{boot}/{int(ticks) - 1}")  # our pid, an older process
    other_boot = Owner(HERE, mine.pid, f"another-boot/{ticks}")  # before a reboot
    reused = [store.start("scan", {}, None, owner=owner) for owner in (earlier, other_boot)]
    alive = store.start("scan", {}, None, owner=mine)
    reaped = reap_dead_runs(store)
    assert sorted(r.id for r in reaped) == sorted(reused)
    assert all(f"(pid {mine.pid} on {HERE}) ended without" in str(r.error) for r in reaped)
    assert store.get(alive).status == "running"  # type: ignore[union-attr]


def test_a_stale_lease_on_another_host_is_reaped_a_fresh_one_is_not(
    store: RunStore, clock: Clock
) -> None:
    worker = Owner("worker-7.example", 4242, "boot/99")
    run_id = store.start("walkforward", {}, None, owner=worker)
    clock.now = T0 + timedelta(seconds=25)
    store.renew(run_id)  # alive at T0 + 25 s
    clock.now = T0 + timedelta(seconds=25 + 30)  # exactly three intervals: not yet
    assert reap_dead_runs(store) == []
    clock.now += timedelta(seconds=1)
    (reaped,) = reap_dead_runs(store)
    assert (reaped.id, reaped.status) == (run_id, "failed")
    assert reaped.error == (
        "no sign of life from pid 4242 on worker-7.example since 2026-12-07 09:30:25 UTC"
    )
    assert reaped.finished_at == T0 + timedelta(seconds=25)
    assert reap_dead_runs(store) == []  # once


def test_the_runs_own_lease_interval_counts_not_the_readers(
    database: OpenedDatabase, clock: Clock
) -> None:
    slow = RunStore(database.sessions, clock, lease_interval=60.0)
    run_id = slow.start("scan", {}, None, owner=Owner("elsewhere", 7, None))
    reader = RunStore(database.sessions, clock, lease_interval=10.0)
    clock.now = T0 + timedelta(seconds=179)
    assert reap_dead_runs(reader) == []
    clock.now = T0 + timedelta(seconds=181)
    assert [r.id for r in reap_dead_runs(reader)] == [run_id]


def test_a_run_from_before_leases_is_reaped_by_its_start(
    database: OpenedDatabase, store: RunStore, clock: Clock
) -> None:
    with database.engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO research_runs (id, kind, status, created_at, progress_done, request) "
            "VALUES ('scan-old', 'scan', 'running', :at, 0, '{}')"
        ), {"at": T0.replace(tzinfo=None) if database.engine.dialect.name == "sqlite" else T0})  # fmt: skip
    clock.now = T0 + timedelta(seconds=30)
    assert reap_dead_runs(store) == []
    clock.now = T0 + timedelta(seconds=31)
    (reaped,) = reap_dead_runs(store)
    assert reaped.id == "scan-old" and reaped.owner is None
    assert reaped.error == ("no sign of life since 2026-12-07 09:30:00 UTC (the run was started "
                            "by a tradd that did not record its process)")  # fmt: skip


def test_a_run_finished_or_renewed_meanwhile_is_not_reaped(store: RunStore, clock: Clock) -> None:
    worker = Owner("elsewhere", 9, None)
    finished = store.start("scan", {}, None, owner=worker)
    renewed = store.start("scan", {}, None, owner=worker)
    clock.now = T0 + timedelta(minutes=5)
    seen = {run.id: run for run in store.running()}
    store.finish(finished, "complete", {})
    store.renew(renewed)
    assert not store.fail_dead(seen[finished], "dead", T0)
    assert not store.fail_dead(seen[renewed], "dead", T0)
    assert [store.get(i).status for i in (finished, renewed)] == ["complete", "running"]  # type: ignore[union-attr]


def test_the_keeper_renews_the_lease_until_stopped(store: RunStore, clock: Clock) -> None:
    run_id = store.start("optimize", {}, None)
    ticks = Ticks()
    keeper = LeaseKeeper(store, run_id, 10.0, wait=ticks.wait).start()
    for step in (1, 2):
        clock.now = T0 + timedelta(seconds=10 * step)
        ticks.tick()
        assert store.get(run_id).alive_at == clock.now  # type: ignore[union-attr]
    ticks.stop()
    keeper.stop()
    assert not keeper.alive


def test_a_failing_renewal_is_logged_rate_limited_and_the_keeper_goes_on(
    database: OpenedDatabase, store: RunStore, clock: Clock
) -> None:
    run_id = store.start("scan", {}, None)
    ticks, monotonic = Ticks(), Monotonic()
    keeper = LeaseKeeper(store, run_id, 10.0, wait=ticks.wait, monotonic=monotonic).start()
    with database.engine.begin() as connection:
        connection.execute(text("ALTER TABLE research_runs RENAME TO research_runs_away"))
    with capture_logs() as logs:
        for _ in range(3):  # within one LOG_EVERY_S: one line
            monotonic.now += 1
            ticks.tick()
        monotonic.now += LOG_EVERY_S
        ticks.tick()
        assert keeper.alive
        with database.engine.begin() as connection:
            connection.execute(text("ALTER TABLE research_runs_away RENAME TO research_runs"))
        clock.now = T0 + timedelta(seconds=50)
        ticks.tick()
    failures = [e for e in logs if e["event"] == "could not renew the research run's lease"]
    assert [e["failures"] for e in failures] == [1, 4]
    assert all(e["log_level"] == "warning" and e["run_id"] == run_id for e in failures)
    assert any(e["event"] == "research run lease renewed again" and e["failed_renewals"] == 4
               for e in logs)  # fmt: skip
    assert store.get(run_id).alive_at == clock.now  # type: ignore[union-attr]
    ticks.stop()
    keeper.stop()


def test_the_keeper_stops_by_itself_once_the_record_is_gone(store: RunStore) -> None:
    run_id = store.start("scan", {}, None)
    ticks = Ticks()
    keeper = LeaseKeeper(store, run_id, 10.0, wait=ticks.wait).start()
    ticks.tick()
    store.delete(run_id)
    ticks.release()  # one more renewal: it finds no record and the keeper ends
    keeper.join(timeout=30)
    assert not keeper.alive


def test_a_tracked_run_keeps_its_lease_and_reaps_before_it_starts(
    store: RunStore, clock: Clock
) -> None:
    dead = store.start("scan", {}, None, owner=Owner(HERE, ended_pid(), None))
    with tracked_run(Settings(), "optimize", {}, None, store=store) as run:
        assert store.get(dead).status == "failed"  # type: ignore[union-attr]
        live = store.get(run.id)
        assert live is not None and live.owner == this_process() and live.lease_s == 10.0
        assert any(t.name == f"lease-{run.id}" for t in threading.enumerate())
    assert not any(t.name == f"lease-{run.id}" for t in threading.enumerate())
    assert store.get(run.id).status == "complete"  # type: ignore[union-attr]


def test_process_start_reads_field_22_after_any_command_name(tmp_path: Path) -> None:
    rest = " ".join(str(n) for n in range(4, 22))  # fields 4..21, then starttime
    (tmp_path / "sys" / "kernel" / "random").mkdir(parents=True)
    (tmp_path / "sys" / "kernel" / "random" / "boot_id").write_text("b00t\n")
    for pid, comm, state in ((10, "(a) b (c)", "S"), (11, "(zombie)", "Z")):
        (tmp_path / str(pid)).mkdir()
        (tmp_path / str(pid) / "stat").write_text(f"{pid} {comm} {state} {rest} 777 8 9\n")
    assert process_start(10, tmp_path) == "b00t/777"
    assert process_start(11, tmp_path) is None  # killed, not yet waited for: gone
    assert process_start(12, tmp_path) is None
    (tmp_path / "self").mkdir()
    (tmp_path / "self" / "stat").write_text("1 (x) R\n")
    table = ProcessTable("h", tmp_path)
    assert table.runs(Owner("h", 10, "b00t/777")) is True
    assert table.runs(Owner("h", 10, "b00t/776")) is False
    assert table.runs(Owner("h", 11, "b00t/777")) is False
    assert table.runs(Owner("other", 12, None)) is None
    assert ProcessTable("h", tmp_path / "nowhere").runs(Owner("h", 10, None)) is None
