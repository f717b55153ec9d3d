"""Worker processes for an optimization.

Workers are forked from the parent after the data is loaded and the Cerebro preloaded,
so each inherits them for free (copy-on-write) instead of receiving a pickled Cerebro per
combination. Each worker opens its own storage connection and takes slots from the shared
study until none is left; the parent only shows progress.

Ctrl-C: the first stops workers after their current trial (finished trials are kept);
a second aborts them, and their unfinished trials are put back for the next run.
"""

from __future__ import annotations

import gc
import multiprocessing
import queue
import signal
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from multiprocessing.synchronize import Event

import optuna
import structlog

from tradd.research.optimize.storage import StorageSpec
from tradd.research.optimize.study import (
    claim,
    join_study,
    mark_interrupted,
    worker_tag,
)
from tradd.research.optimize.trial import TrialOutcome, TrialPlan, evaluate

POLL_S = 0.5


@dataclass(frozen=True)
class WorkerSetup:
    plan: TrialPlan
    storage: StorageSpec
    study_name: str
    method: str
    seed: int | None


@dataclass(frozen=True)
class Started:
    worker: int
    number: int


@dataclass(frozen=True)
class Finished:
    worker: int
    error: str | None = None


Message = Started | Finished | TrialOutcome


def make_sampler(method: str, seed: int | None, worker: int) -> optuna.samplers.BaseSampler:
    worker_seed = None if seed is None else seed * 1000 + worker
    if method == "bayesian":
        # constant_liar: parallel workers do not all propose the same promising point.
        return optuna.samplers.TPESampler(seed=worker_seed, constant_liar=True)
    return optuna.samplers.RandomSampler(seed=worker_seed)  # grid slots carry their params


def worker_main(
    setup: WorkerSetup, index: int, results: multiprocessing.Queue[Message], stop: Event
) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides how to stop
    error = None
    try:
        sampler = make_sampler(setup.method, setup.seed, index)
        handle = join_study(setup.storage.open(), setup.study_name, sampler)
        while not stop.is_set():
            trial = claim(handle)
            if trial is None:
                break
            trial.set_user_attr("worker", worker_tag())
            results.put(Started(index, trial.number))
            results.put(evaluate(setup.plan, handle, trial, index))
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        structlog.get_logger("tradd.optimize").exception("worker failed", worker=index)
    results.put(Finished(index, error))


@dataclass
class PoolResult:
    interrupted: bool = False
    aborted: bool = False
    worker_errors: list[str] | None = None


def run_pool(
    setup: WorkerSetup,
    workers: int,
    on_outcome: Callable[[TrialOutcome], None],
    on_notice: Callable[[str], None],
) -> PoolResult:
    context = multiprocessing.get_context("fork")
    results: multiprocessing.Queue[Message] = context.Queue()
    stop = context.Event()
    gc.collect()
    gc.freeze()  # the inherited heap stays shared: the workers' GC never walks or copies it
    processes = [
        context.Process(target=worker_main, args=(setup, i, results, stop), daemon=True)
        for i in range(workers)
    ]
    for process in processes:
        process.start()
    outcome = PoolResult(worker_errors=[])
    tracker = _Tracker(setup, on_outcome)
    try:
        while len(tracker.finished) < workers:
            try:
                tracker.handle(results.get(timeout=POLL_S), outcome)
            except queue.Empty:
                _reap_dead(processes, tracker.finished, tracker.running, outcome, setup)
            except KeyboardInterrupt:
                if outcome.interrupted:
                    raise
                outcome.interrupted = True
                stop.set()
                on_notice("stopping after the current trials (Ctrl-C again to abort)")
    except KeyboardInterrupt:
        outcome.aborted = True
        for process in processes:
            process.kill()
        _end_running(setup, tracker.running.values(), "aborted by Ctrl-C", requeue=True)
    finally:
        for process in processes:
            process.join(timeout=10)
        gc.unfreeze()
    return outcome


class _Tracker:
    """Which worker runs which trial, from the workers' messages."""

    def __init__(self, setup: WorkerSetup, on_outcome: Callable[[TrialOutcome], None]) -> None:
        self.setup = setup
        self.on_outcome = on_outcome
        self.running: dict[int, int] = {}
        self.finished: set[int] = set()

    def handle(self, message: Message, outcome: PoolResult) -> None:
        if isinstance(message, Started):
            self.running[message.worker] = message.number
        elif isinstance(message, Finished):
            self.finished.add(message.worker)
            abandoned = self.running.pop(message.worker, None)
            if message.error:
                assert outcome.worker_errors is not None
                outcome.worker_errors.append(message.error)
            if abandoned is not None:  # failed between claiming and recording a trial
                reason = f"worker failed: {message.error}"
                _end_running(self.setup, [abandoned], reason, requeue=True)
        else:
            self.running.pop(message.worker, None)
            self.on_outcome(message)


def _reap_dead(
    processes: Sequence[multiprocessing.process.BaseProcess],
    finished: set[int],
    running: dict[int, int],
    outcome: PoolResult,
    setup: WorkerSetup,
) -> None:
    """A worker that died without saying so (killed, crashed): fail its trial, carry on."""
    for index, process in enumerate(processes):
        if index in finished or process.is_alive():
            continue
        finished.add(index)
        number = running.pop(index, None)
        assert outcome.worker_errors is not None
        outcome.worker_errors.append(f"worker {index} died with exit code {process.exitcode}")
        if number is not None:
            # Not re-queued: a combination that kills its process would kill the next one too.
            reason = f"worker died with exit code {process.exitcode}"
            _end_running(setup, [number], reason, requeue=False)


def _end_running(setup: WorkerSetup, numbers: Iterable[int], reason: str, *, requeue: bool) -> None:
    handle = join_study(setup.storage.open(), setup.study_name, make_sampler(setup.method, None, 0))
    wanted = set(numbers)
    for trial in handle.study.get_trials(deepcopy=False):
        if trial.number in wanted and trial.state == optuna.trial.TrialState.RUNNING:
            mark_interrupted(handle, trial, reason, requeue=requeue)
