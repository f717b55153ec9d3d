"""One pool of forked worker processes for the research commands (and the jobs to come).

Why fork: the parent loads the bars and builds what the units share once; workers are
forked from it and inherit all of it copy-on-write instead of receiving it pickled. Only
a unit, its notes and its result cross the process boundary.

The interface, `ForkPool(work, workers).run(units, sink)`:

- `work(slot)` runs once in each worker process (slot 0..workers-1; a replacement worker
  gets the slot of the one it replaces) and returns the function that runs one unit,
  `(unit, reporter) -> result`. `reporter.note(payload)` sends something while the unit
  runs (a finished trial, a row); `reporter.stopping()` says the pool is cancelled.
- `units` is pulled lazily, one unit whenever a worker is free (so it may be a generator
  that ends on something the sink saw); it must end.
- `sink(event)` gets, in the parent, `Note`, `Done` and `Failed` events in completion
  order (`ordered=True`: `Done`/`Failed` in submission order). `index` numbers the units in
  submission order. `progress` (optional) gets a `Progress` of the units after each one.
- `cancel()`: no unit starts any more; running units finish, or end early where they
  check `reporter.stopping()`. `abort()`: the workers are killed now and their units are
  `Failed(ABORTED)`. Both may be called from the sink or from another thread.

Ctrl-C (when `run` is on the main thread) is the same for every command: the first is
`cancel()` and the user is told a second one aborts; the second is `abort()`. `run` never
raises KeyboardInterrupt: it returns how it ended, and the caller decides what to keep.

A worker that dies (killed, out of memory, a crash in native code): its unit is
`Failed(DIED)` with the exit code or signal, never retried (a unit that kills its process
would kill the next one too), and a new worker takes its slot. A worker that dies before
taking a unit is not replaced; when none is left, the units not run are `Failed(NOT_RUN)`.
Nothing waits on a dead process: each worker has a pipe of its own (one killed halfway
through a message breaks only its own), and the parent wakes on a process's exit.
Whatever ends `run` (even an exception from the sink), no worker outlives it.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sized
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any, Generic, TypeVar

from tradd.research.pool.child import UnitFunction, child_main
from tradd.research.pool.events import Broken, Cause, Done, Ending, Event, Failed, Note
from tradd.research.progress import Progress, ProgressCounter

U = TypeVar("U")
R = TypeVar("R")

STOP_NOTICE = "stopping after the current {noun} (Ctrl-C again to abort)"


def _ignore(_: object) -> None:
    return None


class ForkPool(Generic[U, R]):
    """One run of units in `workers` forked processes (see the module's docstring)."""

    def __init__(
        self,
        work: Callable[[int], UnitFunction[U, R]],
        workers: int,
        *,
        noun: str = "units",
        notice: Callable[[str], None] = _ignore,
        progress: Callable[[Progress], None] = _ignore,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if workers < 1:
            raise ValueError(f"workers {workers}: must be at least 1")
        self._work, self._workers, self._noun, self._notice = work, workers, noun, notice
        self._counter = ProgressCounter(progress, clock)
        self._context = multiprocessing.get_context("fork")
        self._stopping = self._context.RawValue("b", 0)  # lock-free: a killed reader holds none
        self._lock = threading.Lock()
        self._wake: tuple[int, int] | None = None
        self._interrupts = self._seen_interrupts = 0
        self._requested = self._ending = Ending.FINISHED
        self._processes: dict[int, BaseProcess] = {}
        self._pipes: dict[int, Connection] = {}
        self._broken: set[int] = set()
        """Slots whose pipe gave EOF: waiting for the process's exit, not its pipe."""
        self._held: dict[int, tuple[int, U]] = {}
        """What each busy worker runs: (index, unit)."""
        self._retiring: set[int] = set()
        self._lost: set[int] = set()
        self._units: Iterator[U] = iter(())
        self._returned: list[tuple[int, U]] = []
        """Units given to a worker that could not start: the next ones to hand out."""
        self._exhausted = False
        self._next_index = 0
        self._sink: Callable[[Event[R]], None] = _ignore

    def cancel(self) -> None:
        self._request(Ending.CANCELLED)

    def abort(self) -> None:
        self._request(Ending.ABORTED)

    def run(
        self, units: Iterable[U], sink: Callable[[Event[R]], None], *, ordered: bool = False
    ) -> Ending:
        """Run every unit (until cancelled); returns how the run ended. Once per pool."""
        if self._wake is not None or self._next_index or self._exhausted:
            raise RuntimeError("a ForkPool runs once: make a new one for more units")
        self._units = iter(units)
        self._sink = _InOrder(sink) if ordered else sink
        self._counter.start(len(units) if isinstance(units, Sized) else None)
        with self._lock:
            self._wake = os.pipe()
            os.set_blocking(self._wake[1], False)
        gc.collect()
        gc.freeze()  # the inherited heap stays shared: the workers' GC never walks or copies it
        previous = self._catch_sigint()
        try:
            self._loop()
            self._fail_not_run()
        finally:
            self._end()
            if previous is not None:
                signal.signal(signal.SIGINT, previous)
            gc.unfreeze()
        if isinstance(self._sink, _InOrder):
            self._sink.flush()
        return self._ending

    def _loop(self) -> None:
        assert self._wake is not None
        while True:
            self._act_on_requests()
            self._dispatch()
            if not self._processes:
                return
            pipes = [p for s, p in self._pipes.items() if s not in self._broken]
            sentinels = {p.sentinel: s for s, p in self._processes.items()}
            ready = wait([*pipes, *sentinels, self._wake[0]])
            for slot, pipe in list(self._pipes.items()):
                if pipe in ready and slot not in self._broken:
                    self._receive(slot)
            if self._wake[0] in ready:
                os.read(self._wake[0], 512)
            for sentinel, slot in sentinels.items():
                if sentinel in ready:
                    self._bury(slot)

    def _dispatch(self) -> None:
        """A unit for every free slot; a retirement for every idle worker when none is left."""
        for slot in range(self._workers):
            if slot in self._held or slot in self._lost or slot in self._retiring:
                continue
            live = slot in self._processes
            task = None if self._stopping.value else self._pull()
            if task is None:
                if live:
                    self._retire(slot)
                continue
            if not live:
                self._start(slot)
            self._held[slot] = task
            with contextlib.suppress(OSError):  # it died just now: its exit fails the unit
                self._pipes[slot].send(task)

    def _pull(self) -> tuple[int, U] | None:
        if self._returned:
            return self._returned.pop(0)
        if self._exhausted:
            return None
        try:
            unit = next(self._units)
        except StopIteration:
            self._exhausted = True
            return None
        self._next_index += 1
        return self._next_index - 1, unit

    def _start(self, slot: int) -> None:
        assert self._wake is not None
        parent_end, child_end = self._context.Pipe()
        inherited = [*self._pipes.values(), parent_end]
        args = (self._work, slot, child_end, self._stopping, inherited, self._wake)
        process = self._context.Process(
            target=child_main, args=args, daemon=True, name=f"tradd-pool-{slot}"
        )
        # Ctrl-C waits until the child ignores it (the parent decides how to stop).
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            process.start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            child_end.close()
        self._processes[slot], self._pipes[slot] = process, parent_end

    def _retire(self, slot: int) -> None:
        self._retiring.add(slot)
        with contextlib.suppress(OSError):
            self._pipes[slot].send(None)

    def _receive(self, slot: int) -> None:
        try:
            message = self._pipes[slot].recv()
        except (EOFError, OSError):  # dying: its exit will be noticed
            self._broken.add(slot)
            return
        if isinstance(message, Broken):
            self._lost.add(slot)
            if slot in self._held:  # not its unit's fault: another worker runs it
                self._returned.append(self._held.pop(slot))
            self._call(self._notice, f"worker process {slot} could not start: {message.reason}")
        elif isinstance(message, Note):
            self._call(self._sink, message)
        else:
            self._held.pop(slot, None)
            self._finish(message)

    def _bury(self, slot: int, *, aborted: bool = False) -> None:
        """Reap a worker that exited: what it sent before, then its unit, if it had one."""
        process, pipe = self._processes.pop(slot), self._pipes[slot]
        while slot not in self._broken and pipe.poll():
            self._receive(slot)
        del self._pipes[slot]
        pipe.close()
        process.join()
        self._broken.discard(slot)
        task = self._held.pop(slot, None)
        if task is not None:
            cause = Cause.ABORTED if aborted else Cause.DIED
            reason = "aborted" if aborted else death_reason(process.exitcode)
            self._finish(Failed(task[0], cause, reason))
        elif slot not in self._retiring and not aborted and slot not in self._lost:
            self._lost.add(slot)
            self._call(self._notice, f"worker process {slot} {death_reason(process.exitcode)}")
        self._retiring.discard(slot)

    def _finish(self, event: Done[R] | Failed) -> None:
        self._call(self._sink, event)
        self._call(lambda _: self._counter.advance(), None)

    def _fail_not_run(self) -> None:
        """Every worker is lost and units are left: each is failed, none is missing."""
        while not self._stopping.value and (task := self._pull()) is not None:
            self._finish(Failed(task[0], Cause.NOT_RUN, "not run: every worker process died"))

    def _call(self, function: Callable[[Any], None], argument: object) -> None:
        """A Ctrl-C raised from the caller's code counts as one pressed during the run."""
        try:
            function(argument)
        except KeyboardInterrupt:
            self._interrupts += 1

    def _request(self, ending: Ending) -> None:
        with self._lock:
            if ending == Ending.ABORTED or self._requested == Ending.FINISHED:
                self._requested = ending
            self._wake_up()

    def _wake_up(self) -> None:
        """Safe in a signal handler: no lock, a non-blocking write to an open pipe."""
        if self._wake is not None:
            with contextlib.suppress(OSError):  # full: it will wake anyway
                os.write(self._wake[1], b"!")

    def _catch_sigint(self) -> Any:
        if threading.current_thread() is not threading.main_thread():
            return None
        return signal.signal(signal.SIGINT, self._on_sigint)

    def _on_sigint(self, _signum: int, _frame: FrameType | None) -> None:
        self._interrupts += 1
        self._wake_up()

    def _act_on_requests(self) -> None:
        while self._seen_interrupts < self._interrupts:
            self._seen_interrupts += 1
            if self._seen_interrupts == 1:
                self._request(Ending.CANCELLED)
                self._call(self._notice, STOP_NOTICE.format(noun=self._noun))
            else:
                self._request(Ending.ABORTED)
        requested = self._requested
        if requested != Ending.FINISHED and not self._stopping.value:
            self._stopping.value = 1
            self._ending = Ending.CANCELLED
        if requested == Ending.ABORTED and self._ending != Ending.ABORTED:
            self._ending = Ending.ABORTED
            self._kill_all(aborted=True)

    def _kill_all(self, *, aborted: bool) -> None:
        for process in self._processes.values():
            process.kill()
        for slot in list(self._processes):
            self._bury(slot, aborted=aborted)

    def _end(self) -> None:
        """Whatever ended the run: no worker left, no pipe open."""
        for process in self._processes.values():
            process.kill()
            process.join()
        for pipe in self._pipes.values():
            pipe.close()
        self._processes.clear()
        self._pipes.clear()
        with self._lock:
            if self._wake is not None:
                for fd in self._wake:
                    os.close(fd)
                self._wake = None


def death_reason(exitcode: int | None) -> str:
    """What happened to a worker process, from its exit code (negative: a signal's)."""
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        hint = " (the out-of-memory killer sends it)" if exitcode == -signal.SIGKILL else ""
        return f"worker process killed by {name}{hint}"
    return f"worker process died (exit code {exitcode})"


class _InOrder(Generic[R]):
    """Passes notes on at once and ends of units in submission order."""

    def __init__(self, sink: Callable[[Event[R]], None]) -> None:
        self._sink, self._next = sink, 0
        self._waiting: dict[int, Done[R] | Failed] = {}

    def __call__(self, event: Event[R]) -> None:
        if isinstance(event, Note):
            self._sink(event)
            return
        self._waiting[event.index] = event
        while self._next in self._waiting:
            self._sink(self._waiting.pop(self._next))
            self._next += 1

    def flush(self) -> None:
        """After a cancelled run: the rest, in order, past units that never ran."""
        for index in sorted(self._waiting):
            self._sink(self._waiting.pop(index))
