"""Worker processes for a walk-forward: one window at a time each, windows in parallel.

Workers are forked after the data is loaded, so they inherit the bars and the plan
(copy-on-write) instead of receiving them pickled. They take window indices from a queue
filled up front (anchored windows, whose IS grows, biggest first: starting the big ones
early keeps the cores busy to the end), and send back a message per IS trial (for the
progress bar) and the window's result.

Ctrl-C: the first (wherever it lands in the parent, even inside a progress callback) stops
every worker after its current trial, and finished windows are kept; a second kills them.
A window that fails (a strategy bug, bad data) or a worker that dies (killed, out of
memory) ends the run at once and the other workers are killed: the walk-forward is
incomplete without that window, so their work would be thrown away, and a worker killed
while writing to the shared result queue can leave its lock held, so waiting for the others
to say goodbye could wait forever. Whatever ends the run, no worker outlives
`run_windows`.
"""

from __future__ import annotations

import gc
import multiprocessing
import queue
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from multiprocessing.synchronize import Event

from tradd.research.walkforward.evaluate import (
    WindowPlan,
    WindowResult,
    WindowStopped,
    run_window,
)
from tradd.research.walkforward.windows import Window

POLL_S = 0.5
JOIN_S = 10.0


@dataclass(frozen=True)
class TrialDone:
    window: int


@dataclass(frozen=True)
class WindowDone:
    result: WindowResult


@dataclass(frozen=True)
class WindowFailed:
    window: int
    error: str


@dataclass(frozen=True)
class WorkerExit:
    worker: int


Message = TrialDone | WindowDone | WindowFailed | WorkerExit


@dataclass(frozen=True)
class PoolCallbacks:
    trial: Callable[[int], None]
    """An IS trial of this window finished."""
    window: Callable[[WindowResult], None]
    notice: Callable[[str], None]


@dataclass
class PoolOutcome:
    results: dict[int, WindowResult] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    interrupted: bool = False


def worker_main(
    plan: WindowPlan,
    windows: Sequence[Window],
    tasks: multiprocessing.Queue[int | None],
    results: multiprocessing.Queue[Message],
    stop: Event,
    worker: int,
) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides how to stop
    while not stop.is_set():
        index = tasks.get()
        if index is None:
            break
        try:
            result = run_window(
                plan, windows[index], partial(results.put, TrialDone(index)), stop.is_set
            )
        except WindowStopped:
            break
        except Exception as exc:
            results.put(WindowFailed(index, f"{type(exc).__name__}: {exc}"))
            break
        results.put(WindowDone(result))
    results.put(WorkerExit(worker))


def run_windows(
    plan: WindowPlan,
    windows: Sequence[Window],
    workers: int,
    callbacks: PoolCallbacks,
    *,
    longest_first: bool = False,
) -> PoolOutcome:
    """Run every window in `workers` processes; returns what finished.

    `longest_first` (anchored windows, whose IS grows) hands out the last windows first."""
    context = multiprocessing.get_context("fork")
    tasks: multiprocessing.Queue[int | None] = context.Queue()
    results: multiprocessing.Queue[Message] = context.Queue()
    for window in sorted(windows, key=lambda w: -w.index if longest_first else w.index):
        tasks.put(window.index)
    for _ in range(workers):
        tasks.put(None)
    tasks.cancel_join_thread()  # windows left over after a stop are simply dropped
    stop = context.Event()
    gc.collect()
    gc.freeze()  # the inherited heap stays shared: the workers' GC never walks or copies it
    processes = [
        context.Process(
            target=worker_main, args=(plan, windows, tasks, results, stop, i), daemon=True
        )
        for i in range(workers)
    ]
    outcome = PoolOutcome()
    finished = False
    try:
        for process in processes:
            process.start()
        _collect(processes, results, stop, outcome, callbacks)
        finished = not outcome.errors
    except KeyboardInterrupt:  # the second Ctrl-C
        outcome.interrupted = True
    finally:  # also on any other exception (a callback failed): it propagates
        stop.set()
        _shut_down(processes, graceful=finished)
        gc.unfreeze()
    return outcome


def _shut_down(processes: Sequence[multiprocessing.process.BaseProcess], graceful: bool) -> None:
    """Reap every worker. `graceful`: each has said goodbye, so it is exiting by itself
    (still killed if it has not within JOIN_S); otherwise each is killed now."""
    for process in processes:
        if process.pid is None:  # never started
            continue
        if graceful:
            process.join(timeout=JOIN_S)
        if process.is_alive():
            process.kill()
        process.join()


def _collect(
    processes: Sequence[multiprocessing.process.BaseProcess],
    results: multiprocessing.Queue[Message],
    stop: Event,
    outcome: PoolOutcome,
    callbacks: PoolCallbacks,
) -> None:
    """Handle messages until every worker has exited or one failed; the first Ctrl-C asks
    them to stop (a second one propagates)."""
    exited: set[int] = set()
    while len(exited) < len(processes) and not outcome.errors:
        try:
            try:
                message = results.get(timeout=POLL_S)
            except queue.Empty:
                pass
            else:
                _handle(message, exited, outcome, stop, callbacks)
            # every round, not only when the queue is quiet: while the others report
            # trials steadily, a dead worker would go unnoticed until they ran out of work
            _reap_dead(processes, exited, outcome, stop)
        except KeyboardInterrupt:
            if outcome.interrupted:
                raise
            outcome.interrupted = True
            stop.set()
            callbacks.notice("stopping after the current trials (Ctrl-C again to abort)")


def _handle(
    message: Message,
    exited: set[int],
    outcome: PoolOutcome,
    stop: Event,
    callbacks: PoolCallbacks,
) -> None:
    if isinstance(message, TrialDone):
        callbacks.trial(message.window)
    elif isinstance(message, WindowDone):
        outcome.results[message.result.window.index] = message.result
        callbacks.window(message.result)
    elif isinstance(message, WindowFailed):
        outcome.errors.append(f"window {message.window}: {message.error}")
        stop.set()
    else:
        exited.add(message.worker)


def _reap_dead(
    processes: Sequence[multiprocessing.process.BaseProcess],
    exited: set[int],
    outcome: PoolOutcome,
    stop: Event,
) -> None:
    """A worker that died without saying so (killed, out of memory) fails the run.

    Exit code 0 is a worker that said goodbye just now: its message is still on its way."""
    for index, process in enumerate(processes):
        if index not in exited and not process.is_alive() and process.exitcode != 0:
            exited.add(index)
            outcome.errors.append(f"worker {index} died with exit code {process.exitcode}")
            stop.set()
