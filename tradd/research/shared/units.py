"""A study of units: the work of one walk-forward (a window per unit) or scan (a row per
unit) laid out as WAITING trials of an Optuna study, shared by every process that joins.

The same machinery as `tradd optimize` (tradd.research.optimize.study): a process takes a
unit by moving its trial from WAITING to RUNNING, which the storage does atomically, so
cooperating processes (on one machine or many) never run a unit twice. Each trial carries
its unit's key as its one fixed parameter (so `mark_interrupted` lays an identical slot
out again), records the worker that runs it (host:pid, for `recover_stale`), and, when
done, its result as a JSON text user attribute: every process writes its report from the
stored results, so the one that finishes last has everything.

A unit that failed for good (a strategy error in a walk-forward window, a worker killed
while running it) ends FAIL with its error and is not laid out again; a unit interrupted
for a reason that is not its own (Ctrl-C, a process killed) is laid out again.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.exceptions import DuplicatedStudyError, UpdateFinishedTrialError
from optuna.trial import FrozenTrial, TrialState

from tradd.errors import UsageError
from tradd.research.optimize.storage import StorageSpec
from tradd.research.optimize.study import (
    ID_ATTR,
    READY_ATTR,
    StudyHandle,
    claim,
    join_study,
    mark_interrupted,
    wait_until_ready,
    worker_tag,
)

KIND_ATTR = "tradd_units"
"""The command whose units the study holds (`walkforward`, `scan`)."""
UNITS_SPEC_ATTR = "tradd_units_spec"
UNIT_PARAM = "unit"
RESULT_ATTR = "result"
ERROR_ATTR = "error"
WORKER_ATTR = "worker"


@dataclass(frozen=True)
class UnitStudy:
    """Where a command's units live; a description every process opens for itself."""

    storage: StorageSpec
    name: str
    kind: str

    def join(self) -> StudyHandle:
        return join_study(self.storage.open(), self.name, _sampler())


def _sampler() -> optuna.samplers.BaseSampler:
    # Never asked for anything (units carry their key), but Optuna wants one; cheap.
    return optuna.samplers.RandomSampler(seed=0)


def open_units(
    study: UnitStudy,
    spec: Mapping[str, Any],
    keys: Sequence[str],
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> StudyHandle:
    """Create the study with one WAITING trial per key, or join it (same kind and spec,
    else a UsageError naming what differs) once its creator has laid it out."""
    storage = study.storage.open()
    try:
        created = optuna.create_study(
            study_name=study.name, storage=storage, sampler=_sampler(), direction="maximize"
        )
    except DuplicatedStudyError:
        handle = join_study(storage, study.name, _sampler())
        wait_until_ready(handle.study, study.name, sleep, clock, "its units")
        _check_same(handle.study, study, spec)
        return handle
    created.set_user_attr(KIND_ATTR, study.kind)
    created.set_user_attr(UNITS_SPEC_ATTR, json.dumps(dict(spec), sort_keys=True, default=str))
    created.set_user_attr(ID_ATTR, uuid.uuid4().hex)
    for key in keys:
        created.enqueue_trial({UNIT_PARAM: key})
    created.set_user_attr(READY_ATTR, True)
    return join_study(storage, study.name, _sampler())


def _check_same(existing: optuna.Study, study: UnitStudy, spec: Mapping[str, Any]) -> None:
    kind = existing.user_attrs.get(KIND_ATTR)
    if kind != study.kind:
        made_by = f"tradd {kind}" if kind else "tradd optimize or another program"
        raise UsageError(
            f"--study {study.name!r} exists but was made by {made_by}, not tradd {study.kind}; "
            f"use another --study name"
        )
    mine = json.loads(json.dumps(dict(spec), sort_keys=True, default=str))
    theirs = json.loads(str(existing.user_attrs.get(UNITS_SPEC_ATTR, "{}")))
    differing = sorted(k for k in {*mine, *theirs} if mine.get(k) != theirs.get(k))
    if differing:
        raise UsageError(
            f"--study {study.name!r} was created with different {', '.join(differing)}; "
            f"use the same arguments to join it, or another --study name"
        )


def unit_key(trial: FrozenTrial) -> str:
    fixed = trial.system_attrs.get("fixed_params") or {}
    return str(fixed.get(UNIT_PARAM, ""))


@dataclass(frozen=True)
class Claimed:
    """A unit this worker took: its trial number and key (sent to the parent first, so a
    worker that dies leaves a unit the parent can name)."""

    number: int
    key: str


def claim_unit(handle: StudyHandle) -> tuple[optuna.Trial, Claimed] | None:
    """Take one WAITING unit (atomically across processes), tagged with this worker."""
    trial = claim(handle)
    if trial is None:
        return None
    trial.set_user_attr(WORKER_ATTR, worker_tag())
    frozen = handle.storage.get_trial(handle.trial_id(trial.number))
    return trial, Claimed(trial.number, unit_key(frozen))


def take_unit(handle: StudyHandle, key: str) -> int | None:
    """Take the WAITING unit of `key` (atomically), or None when it is not waiting; for
    a unit the parent can finish at once (a scan row from this machine's cache)."""
    storage = handle.storage
    for waiting in storage.get_all_trials(
        handle.study_id, deepcopy=False, states=(TrialState.WAITING,)
    ):
        if unit_key(waiting) != key:
            continue
        trial_id = handle.trial_id(waiting.number)
        try:
            if storage.set_trial_state_values(trial_id, state=TrialState.RUNNING):
                storage.set_trial_user_attr(trial_id, WORKER_ATTR, worker_tag())
                return waiting.number
        except UpdateFinishedTrialError:
            return None
    return None


def finish_unit(handle: StudyHandle, trial: optuna.Trial, result: str) -> None:
    """Record the unit's result (JSON text) and end its trial COMPLETE."""
    trial.set_user_attr(RESULT_ATTR, result)
    handle.study.tell(trial, 0.0)


def end_unit(
    handle: StudyHandle, number: int, reason: str, *, requeue: bool, result: str | None = None
) -> None:
    """End a RUNNING unit: with `result`, COMPLETE with it (a scan row that failed is still a
    row); otherwise FAIL, and laid out again when `requeue`. A finished one is left alone."""
    trial_id = handle.trial_id(number)
    frozen = handle.storage.get_trial(trial_id)
    if frozen.state != TrialState.RUNNING:
        return
    if result is None:
        mark_interrupted(handle, frozen, reason, requeue=requeue)
        return
    try:
        handle.storage.set_trial_user_attr(trial_id, RESULT_ATTR, result)
        handle.storage.set_trial_state_values(trial_id, TrialState.COMPLETE, [0.0])
    except UpdateFinishedTrialError:
        return


@dataclass(frozen=True)
class StoredUnits:
    """What the study holds now."""

    results: dict[str, str]
    """Key -> result JSON of every finished unit."""
    errors: dict[str, str]
    """Key -> error of units that failed for good (and have no result)."""
    waiting: int
    running: int


def stored_units(handle: StudyHandle) -> StoredUnits:
    results: dict[str, str] = {}
    errors: dict[str, str] = {}
    waiting = running = 0
    for trial in handle.study.get_trials(deepcopy=False):
        key = unit_key(trial)
        if trial.state == TrialState.COMPLETE and RESULT_ATTR in trial.user_attrs:
            results[key] = str(trial.user_attrs[RESULT_ATTR])
        elif trial.state == TrialState.FAIL and not trial.user_attrs.get("requeued", False):
            errors.setdefault(key, str(trial.user_attrs.get(ERROR_ATTR, "failed")))
        elif trial.state == TrialState.WAITING:
            waiting += 1
        elif trial.state == TrialState.RUNNING:
            running += 1
    errors = {k: v for k, v in errors.items() if k not in results}
    return StoredUnits(results, errors, waiting, running)


def fail_unit(handle: StudyHandle, trial: optuna.Trial, error: str) -> None:
    """The unit cannot be done (its own fault): FAIL with the error, not laid out again."""
    trial_id = handle.trial_id(trial.number)
    handle.storage.set_trial_user_attr(trial_id, ERROR_ATTR, error)
    handle.storage.set_trial_user_attr(trial_id, "requeued", False)
    try:
        handle.storage.set_trial_state_values(trial_id, state=TrialState.FAIL)
    except UpdateFinishedTrialError:
        return
