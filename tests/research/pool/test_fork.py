"""The research pool: results, a killed worker, Ctrl-C and cancel, progress, order."""

from __future__ import annotations

import multiprocessing
import os
import selectors
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

import pytest

from tradd.research.pool import (
    Cause,
    Done,
    Ending,
    Event,
    Failed,
    ForkPool,
    Note,
    Reporter,
    UnitFunction,
    death_reason,
)
from tradd.research.progress import Progress

ROOT = Path(__file__).resolve().parents[3]
SHARED = {"loaded": "in the parent, before the fork"}


def times_ten(_slot: int) -> UnitFunction[int, int]:
    return lambda number, _reporter: number * 10


def run(
    pool: ForkPool[int, int], units: range, *, ordered: bool = False
) -> tuple[Ending, list[Event[int]]]:
    events: list[Event[int]] = []
    ending = pool.run(units, events.append, ordered=ordered)
    assert not multiprocessing.active_children()
    return ending, events


def ends(events: list[Event[int]]) -> dict[int, Done[int] | Failed]:
    return {e.index: e for e in events if not isinstance(e, Note)}


def test_every_unit_is_done_in_workers_that_share_the_parents_data() -> None:
    def work(slot: int) -> UnitFunction[int, tuple[int, str, int]]:
        return lambda number, _reporter: (number, SHARED["loaded"], os.getpid())

    SHARED["loaded"] = "changed in the parent after import"
    events: list[Event[tuple[int, str, int]]] = []
    ending = ForkPool(work, 2).run(range(6), events.append)
    assert ending is Ending.FINISHED
    results = sorted(e.result for e in events if isinstance(e, Done))
    assert [r[0] for r in results] == list(range(6))
    assert {r[1] for r in results} == {"changed in the parent after import"}
    assert os.getpid() not in {r[2] for r in results}
    assert not multiprocessing.active_children()


def test_a_killed_worker_fails_its_unit_and_a_new_one_runs_the_rest() -> None:
    def work(_slot: int) -> UnitFunction[int, int]:
        def unit(number: int, reporter: Reporter) -> int:
            if number == 2:
                reporter.note(os.getpid())
                threading.Event().wait()  # until killed
            return number * 10

        return unit

    pool: ForkPool[int, int] = ForkPool(work, 1)  # one worker: the rest needs a replacement
    events: list[Event[int]] = []

    def sink(event: Event[int]) -> None:
        events.append(event)
        if isinstance(event, Note):
            os.kill(event.payload, signal.SIGKILL)  # kill -9, as the OOM killer does

    assert pool.run(range(6), sink) is Ending.FINISHED
    assert not multiprocessing.active_children()
    got = ends(events)
    assert got.pop(2) == Failed(2, Cause.DIED, death_reason(-signal.SIGKILL))
    assert got == {i: Done(i, i * 10) for i in (0, 1, 3, 4, 5)}
    assert "killed by SIGKILL" in death_reason(-signal.SIGKILL)


def test_a_unit_that_raises_fails_alone_and_its_worker_goes_on() -> None:
    def work(_slot: int) -> UnitFunction[int, int]:
        def unit(number: int, _reporter: Reporter) -> int:
            if number == 1:
                raise ValueError("bad unit 1")
            return number

        return unit

    ending, events = run(ForkPool(work, 1), range(3))
    assert ending is Ending.FINISHED
    assert ends(events) == {
        0: Done(0, 0),
        1: Failed(1, Cause.RAISED, "ValueError: bad unit 1"),
        2: Done(2, 2),
    }


def test_a_worker_exiting_by_itself_is_reported_with_its_exit_code() -> None:
    def work(_slot: int) -> UnitFunction[int, int]:
        def unit(number: int, _reporter: Reporter) -> int:
            if number == 0:
                os._exit(7)
            return number

        return unit

    _, events = run(ForkPool(work, 2), range(3))
    assert ends(events)[0] == Failed(0, Cause.DIED, "worker process died (exit code 7)")
    assert ends(events)[2] == Done(2, 2)


def test_workers_that_cannot_start_leave_every_unit_failed_not_missing() -> None:
    def work(slot: int) -> UnitFunction[int, int]:
        raise RuntimeError(f"no storage in slot {slot}")

    notices: list[str] = []
    ending, events = run(ForkPool(work, 2, notice=notices.append), range(4))
    assert ending is Ending.FINISHED
    assert sorted(ends(events)) == [0, 1, 2, 3]
    assert {e.cause for e in ends(events).values() if isinstance(e, Failed)} == {Cause.NOT_RUN}
    assert any("could not start: RuntimeError: no storage in slot" in n for n in notices)


def test_progress_is_reported_after_every_unit() -> None:
    reports: list[Progress] = []
    times = iter(float(t) for t in range(100))  # one second per reading
    pool: ForkPool[int, int] = ForkPool(
        times_ten, 2, progress=reports.append, clock=lambda: next(times)
    )
    run(pool, range(5))
    assert [(p.done, p.total) for p in reports] == [(i, 5) for i in range(6)]
    assert reports[0].eta_s is None and reports[-1].eta_s == 0.0


def test_ordered_passes_results_on_in_submission_order() -> None:
    release = multiprocessing.get_context("fork").Event()

    def work(_slot: int) -> UnitFunction[int, int]:
        def unit(number: int, _reporter: Reporter) -> int:
            if number == 0:
                release.wait()  # finishes after unit 1: released once unit 1 is counted
            return number

        return unit

    def counted(progress: Progress) -> None:
        if progress.done == 1:
            release.set()

    ending, events = run(ForkPool(work, 2, progress=counted), range(2), ordered=True)
    assert ending is Ending.FINISHED
    assert [e.index for e in events] == [0, 1]


def test_cancel_from_the_sink_starts_no_more_units() -> None:
    pool: ForkPool[int, int] = ForkPool(times_ten, 1)
    events: list[Event[int]] = []

    def sink(event: Event[int]) -> None:
        events.append(event)
        pool.cancel()

    assert pool.run(range(50), sink) is Ending.CANCELLED
    assert [e.index for e in events] == [0]
    assert not multiprocessing.active_children()


def _blocking(_slot: int) -> UnitFunction[int, int]:
    def unit(number: int, reporter: Reporter) -> int:
        reporter.note(number)
        threading.Event().wait()  # never looks at reporter.stopping()
        return number

    return unit


def test_abort_kills_running_units() -> None:
    pool: ForkPool[int, int] = ForkPool(_blocking, 2)
    events: list[Event[int]] = []
    started: set[int] = set()

    def sink(event: Event[int]) -> None:
        events.append(event)
        if isinstance(event, Note):
            started.add(event.index)
            if len(started) == 2:
                pool.abort()

    assert pool.run(range(5), sink) is Ending.ABORTED
    assert ends(events) == {i: Failed(i, Cause.ABORTED, "aborted") for i in (0, 1)}
    assert not multiprocessing.active_children()


def test_abort_from_another_thread_wakes_the_pool() -> None:
    pool: ForkPool[int, int] = ForkPool(_blocking, 1)
    started = threading.Event()

    def sink(event: Event[int]) -> None:
        if isinstance(event, Note):
            started.set()

    def abort_once_started() -> None:
        started.wait(60)
        pool.abort()

    thread = threading.Thread(target=abort_once_started)
    thread.start()
    assert pool.run(range(3), sink) is Ending.ABORTED
    thread.join()
    assert not multiprocessing.active_children()


def test_a_ctrl_c_raised_in_the_callers_code_is_the_first_ctrl_c() -> None:
    notices: list[str] = []
    pool: ForkPool[int, int] = ForkPool(times_ten, 1, noun="trials", notice=notices.append)

    def sink(_event: Event[int]) -> None:
        raise KeyboardInterrupt

    assert pool.run(range(50), sink) is Ending.CANCELLED
    assert notices == ["stopping after the current trials (Ctrl-C again to abort)"]
    assert not multiprocessing.active_children()


def test_an_exception_from_the_sink_propagates_and_leaves_no_worker() -> None:
    def sink(_event: Event[int]) -> None:
        raise RuntimeError("progress store went away")

    with pytest.raises(RuntimeError, match="progress store went away"):
        ForkPool(_blocking, 2).run(range(4), sink)
    assert not multiprocessing.active_children()


class Program:
    """`tests.research.pool.interruptible MODE` in a subprocess, read line by line."""

    def __init__(self, mode: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.research.pool.interruptible", mode],
            cwd=ROOT,
            stdout=subprocess.PIPE,
        )
        assert self.process.stdout is not None
        self.stdout: IO[bytes] = self.process.stdout
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.stdout, selectors.EVENT_READ)
        self.buffer = b""

    def line(self) -> str:
        """The next line, within 60 s (the program is waited for, never slept on)."""
        while b"\n" not in self.buffer:
            assert self.selector.select(timeout=60), "the pool program said nothing for 60 s"
            chunk = os.read(self.stdout.fileno(), 4096)
            assert chunk, f"the pool program ended: {self.buffer!r}"
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode()

    def started_pids(self, count: int) -> list[int]:
        return [int(self.line().removeprefix("started ")) for _ in range(count)]

    def finish(self) -> list[str]:
        out, _ = self.process.communicate(timeout=60)
        return (self.buffer + out).decode().splitlines()


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_ctrl_c_lets_running_units_finish_and_starts_no_more() -> None:
    program = Program("cooperative")
    pids = program.started_pids(2)
    program.process.send_signal(signal.SIGINT)
    assert program.line() == "stopping after the current units (Ctrl-C again to abort)"
    assert program.finish() == ["ending cancelled"]  # no third unit started
    assert program.process.returncode == 0
    assert all(_gone(pid) for pid in pids)


def test_a_second_ctrl_c_kills_the_workers_promptly() -> None:
    program = Program("stubborn")
    pids = program.started_pids(2)
    program.process.send_signal(signal.SIGINT)
    assert program.line().startswith("stopping after the current units")
    started = time.monotonic()
    program.process.send_signal(signal.SIGINT)
    assert sorted(program.finish()) == ["ending aborted", "failed 0 aborted", "failed 1 aborted"]
    assert time.monotonic() - started < 30
    assert program.process.returncode == 0
    assert all(_gone(pid) for pid in pids)


def test_a_pool_runs_once() -> None:
    pool: ForkPool[int, int] = ForkPool(times_ten, 1)
    run(pool, range(1))
    with pytest.raises(RuntimeError, match="runs once"):
        pool.run(range(1), lambda _: None)
