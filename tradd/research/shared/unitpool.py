"""A study's units (`units`) in the research pool (`tradd.research.pool`), until none is left.

Each worker joins the study once (its own storage connection) and each pool unit claims
one study unit, runs it, and records its result in the study before telling the parent:
a result is never only in a pipe. The study, not the parent, hands out the units, so
processes on other machines share the work.

`run_units` goes on until the study has no unit waiting or running: before each round
and while others still run units, it re-queues the units of workers on this host that
are gone (`recover_stale`: a process killed with SIGKILL leaves RUNNING units behind), and
runs those too. Others on other hosts are waited for (bounded: `OTHERS_TIMEOUT_S` without
progress), since we cannot tell whether they are alive.

Ctrl-C is the pool's: the first stops after the current units (a unit that can stop early
returns None and is laid out again), the second kills the workers and their units are laid
out again. A unit that raised failed for good; one whose worker died is the caller's to
judge (`UnitHooks.died`: a result to record, or None to fail it for good).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from tradd.research.optimize.study import StudyHandle, pid_alive, recover_stale
from tradd.research.pool import Cause, Done, Ending, Event, ForkPool, Note, Reporter
from tradd.research.pool.child import error_text
from tradd.research.shared.units import (
    Claimed,
    StoredUnits,
    UnitStudy,
    claim_unit,
    end_unit,
    fail_unit,
    finish_unit,
    stored_units,
)

OTHERS_TIMEOUT_S = 600.0
POLL_S = 0.25

UnitWork = Callable[[str, Reporter], str | None]
"""Runs the unit of a key in a worker: its result as JSON text, or None when it stopped
early (Ctrl-C). Raising fails the unit for good."""


def _ignore(*_: Any) -> None:
    return None


def _no_result(_key: str, _reason: str) -> str | None:
    return None


@dataclass(frozen=True)
class UnitHooks:
    """The parent's side: `done(key, result)` for each unit run here, `note(payload)` for
    what a unit reports while it runs, `died(key, reason)` the result to record for a unit
    whose worker died (None: it fails for good), `notice(text)`."""

    done: Callable[[str, str], None] = _ignore
    note: Callable[[Any], None] = _ignore
    died: Callable[[str, str], str | None] = _no_result
    notice: Callable[[str], None] = _ignore
    stop_on_failure: bool = False
    """A unit that failed ends the run (the others' work would be thrown away)."""


@dataclass
class UnitsOutcome:
    ran_here: int = 0
    errors: list[str] = field(default_factory=list)
    interrupted: bool = False
    stored: StoredUnits = field(default_factory=lambda: StoredUnits({}, {}, 0, 0))
    """The study at the end: every result, whoever ran it."""


@dataclass(frozen=True)
class _Finished:
    key: str
    result: str


@dataclass(frozen=True)
class _Stopped:
    key: str


class _ClaimUnit:
    """One worker's pool unit: claim a study unit, run it, record it (None: none left)."""

    def __init__(self, study: UnitStudy, work: UnitWork) -> None:
        self.handle: StudyHandle = study.join()
        self.work = work

    def __call__(self, _unit: None, reporter: Reporter) -> _Finished | _Stopped | None:
        taken = claim_unit(self.handle)
        if taken is None:
            return None
        trial, claimed = taken
        reporter.note(claimed)  # a worker that dies now leaves this unit to the parent
        try:
            result = self.work(claimed.key, reporter)
        except Exception as exc:
            fail_unit(self.handle, trial, error_text(exc))
            raise
        if result is None:
            end_unit(self.handle, claimed.number, "stopped by Ctrl-C", requeue=True)
            return _Stopped(claimed.key)
        finish_unit(self.handle, trial, result)
        return _Finished(claimed.key, result)


class _Claims(Iterable[None]):
    def __init__(self) -> None:
        self.exhausted = False

    def __iter__(self) -> Iterator[None]:
        while not self.exhausted:
            yield None


def run_units(
    study: UnitStudy,
    handle: StudyHandle,
    work: UnitWork,
    workers: int,
    hooks: UnitHooks,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> UnitsOutcome:
    """Run the study's units here, with whoever else joined, until none is left."""
    outcome = UnitsOutcome()
    deadline, seen, announced = clock() + OTHERS_TIMEOUT_S, -1, False
    while True:
        recovered = recover_stale(handle, pid_alive)
        if recovered:
            hooks.notice(f"re-queued {recovered} unit(s) left unfinished by a dead process")
        stored = stored_units(handle)
        outcome.stored = stored
        if outcome.interrupted or (outcome.errors and hooks.stop_on_failure):
            return outcome
        if stored.waiting:
            if not _round(study, work, min(workers, stored.waiting), hooks, outcome):
                hooks.notice("no worker could take a unit; reporting what is stored")
                return outcome
            continue
        if not stored.running:
            return outcome
        done = len(stored.results) + len(stored.errors)
        if done != seen:
            deadline, seen = clock() + OTHERS_TIMEOUT_S, done
        if clock() > deadline:
            hooks.notice(
                f"{stored.running} unit(s) still running elsewhere with no progress for "
                f"{OTHERS_TIMEOUT_S:.0f}s; reporting without them"
            )
            return outcome
        if not announced:
            hooks.notice(f"waiting for {stored.running} unit(s) running in other processes")
            announced = True
        sleep(POLL_S)


def _round(
    study: UnitStudy, work: UnitWork, workers: int, hooks: UnitHooks, outcome: UnitsOutcome
) -> bool:
    """One pool run until a claim finds nothing; False when no unit was even claimed."""
    pool: ForkPool[None, _Finished | _Stopped | None] = ForkPool(
        lambda _slot: _ClaimUnit(study, work), max(1, workers), noun="units", notice=hooks.notice
    )
    claims = _Claims()
    running: dict[int, Claimed] = {}
    claimed_any = False
    handle: list[StudyHandle] = []

    def parent_handle() -> StudyHandle:
        if not handle:
            handle.append(study.join())
        return handle[0]

    def sink(event: Event[_Finished | _Stopped | None]) -> None:
        nonlocal claimed_any
        if isinstance(event, Note):
            if isinstance(event.payload, Claimed):
                running[event.index] = event.payload
                claimed_any = True
            else:
                hooks.note(event.payload)
            return
        claimed = running.pop(event.index, None)
        if isinstance(event, Done):
            if event.result is None:
                claims.exhausted = True
            elif isinstance(event.result, _Finished):
                outcome.ran_here += 1
                hooks.done(event.result.key, event.result.result)
            return
        if event.cause is Cause.NOT_RUN:
            claims.exhausted = True
        elif claimed is not None:
            _failed(parent_handle(), claimed, event.cause, event.reason, hooks, outcome, pool)
        elif event.cause is not Cause.ABORTED:  # before it claimed a unit: the storage
            outcome.errors.append(f"no unit: {event.reason}")
            claims.exhausted = True

    ending = pool.run(claims, sink)
    outcome.interrupted = ending is not Ending.FINISHED and not outcome.errors
    return claimed_any


def _failed(
    handle: StudyHandle,
    claimed: Claimed,
    cause: Cause,
    reason: str,
    hooks: UnitHooks,
    outcome: UnitsOutcome,
    pool: ForkPool[None, Any],
) -> None:
    """A claimed unit without a result: laid out again (aborted), or failed for good."""
    end = partial(end_unit, handle, claimed.number)
    if cause is Cause.ABORTED:
        end("aborted by Ctrl-C", requeue=True)
        return
    result = hooks.died(claimed.key, reason) if cause is Cause.DIED else None
    if result is not None:
        end(reason, requeue=False, result=result)
        outcome.ran_here += 1
        hooks.done(claimed.key, result)
        return
    end(reason, requeue=cause is Cause.RAISED)  # raised: FAIL already, unless the storage failed
    outcome.errors.append(f"{claimed.key}: {reason}")
    if hooks.stop_on_failure:
        pool.abort()
