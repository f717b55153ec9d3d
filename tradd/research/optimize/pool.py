"""An optimization's trials in the research pool (`tradd.research.pool`).

Workers are forked from the parent after the data is loaded and the Cerebro preloaded,
so each inherits them for free (copy-on-write) instead of receiving a pickled Cerebro per
combination. Each worker joins the study once (its own storage connection, its sampler
seeded by its slot); its unit claims trials from the shared study and evaluates them, one
after the other, until a claim finds nothing left. The study, not the parent, hands out
the trials, so other processes cooperating on the same study share the work.

Ctrl-C is the pool's: the first stops after the current trials (finished trials are kept);
the second kills the workers, and their unfinished trials are put back for the next run.
A trial whose worker died is failed and not put back (a combination that kills its
process would kill the next one too); one whose unit raised (the storage failed between
claiming and recording it) is put back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial

import optuna

from tradd.research.optimize.storage import StorageSpec
from tradd.research.optimize.study import (
    StudyHandle,
    claim,
    join_study,
    mark_interrupted,
    worker_tag,
)
from tradd.research.optimize.trial import TrialOutcome, TrialPlan, evaluate
from tradd.research.pool import Cause, Done, Ending, Event, ForkPool, Note, Reporter


@dataclass(frozen=True)
class WorkerSetup:
    plan: TrialPlan
    storage: StorageSpec
    study_name: str
    method: str
    seed: int | None


def make_sampler(method: str, seed: int | None, worker: int) -> optuna.samplers.BaseSampler:
    worker_seed = None if seed is None else seed * 1000 + worker
    if method == "bayesian":
        # constant_liar: parallel workers do not all propose the same promising point.
        return optuna.samplers.TPESampler(seed=worker_seed, constant_liar=True)
    return optuna.samplers.RandomSampler(seed=worker_seed)  # grid slots carry their params


@dataclass
class PoolResult:
    interrupted: bool = False
    aborted: bool = False
    worker_errors: list[str] = field(default_factory=list)


class _ClaimOne:
    """One worker's unit: claim and evaluate trials until none is left or the pool stops.

    Each trial is two notes to the parent, its number when claimed (a worker that dies
    leaves it to fail) and its outcome when recorded; the unit returns how many it ran. So
    a worker goes from one trial to the next without waiting for the parent to receive the
    last one and hand out a unit (a round trip that grows with the machine's load)."""

    def __init__(self, setup: WorkerSetup, slot: int) -> None:
        self.setup, self.slot = setup, slot
        sampler = make_sampler(setup.method, setup.seed, slot)
        self.handle: StudyHandle = join_study(setup.storage.open(), setup.study_name, sampler)

    def __call__(self, _unit: None, reporter: Reporter) -> int:
        ran = 0
        while not reporter.stopping():
            trial = claim(self.handle)
            if trial is None:
                break
            trial.set_user_attr("worker", worker_tag())
            reporter.note(trial.number)
            reporter.note(evaluate(self.setup.plan, self.handle, trial, self.slot))
            ran += 1
        return ran


class _Claims(Iterable[None]):
    """A unit for each worker, and one more each time a unit fails, until one ends: the
    study had nothing left (or the pool was stopped, and hands out nothing more anyway)."""

    def __init__(self) -> None:
        self.exhausted = False

    def __iter__(self) -> Iterator[None]:
        while not self.exhausted:
            yield None


def run_pool(
    setup: WorkerSetup,
    workers: int,
    on_outcome: Callable[[TrialOutcome], None],
    on_notice: Callable[[str], None],
) -> PoolResult:
    pool: ForkPool[None, int] = ForkPool(
        partial(_ClaimOne, setup), workers, noun="trials", notice=on_notice
    )
    outcome = PoolResult()
    claims = _Claims()
    running: dict[int, int] = {}
    """Unit index -> the trial it claimed and has not recorded yet."""
    aborted: list[int] = []

    def sink(event: Event[int]) -> None:
        if isinstance(event, Note):
            if isinstance(event.payload, TrialOutcome):
                running.pop(event.index, None)
                on_outcome(event.payload)
            else:
                running[event.index] = event.payload
            return
        number = running.pop(event.index, None)
        if isinstance(event, Done) or event.cause is Cause.NOT_RUN:
            claims.exhausted = True
        elif event.cause is Cause.ABORTED:
            aborted.extend([] if number is None else [number])
        else:
            outcome.worker_errors.append(event.reason)
            if number is not None:
                raised = event.cause is Cause.RAISED
                reason = f"worker failed: {event.reason}" if raised else event.reason
                _end_running(setup, [number], reason, requeue=raised)

    ending = pool.run(claims, sink)
    if aborted:
        _end_running(setup, aborted, "aborted by Ctrl-C", requeue=True)
    outcome.interrupted = ending is not Ending.FINISHED
    outcome.aborted = ending is Ending.ABORTED
    return outcome


def _end_running(setup: WorkerSetup, numbers: Iterable[int], reason: str, *, requeue: bool) -> None:
    handle = join_study(setup.storage.open(), setup.study_name, make_sampler(setup.method, None, 0))
    wanted = set(numbers)
    for trial in handle.study.get_trials(deepcopy=False):
        if trial.number in wanted and trial.state == optuna.trial.TrialState.RUNNING:
            mark_interrupted(handle, trial, reason, requeue=requeue)
