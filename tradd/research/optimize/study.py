"""One optimization = one Optuna study, shared by every process that works on it.

The work is laid out up front as WAITING trials ("slots"): every valid grid combination,
or N empty slots for Bayesian search. A process takes a slot by moving it from WAITING to
RUNNING, which the storage does atomically, so cooperating processes (on one machine or
many) never run the same trial twice, and together they run exactly the planned number.
Only the process that creates the study lays out the slots.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import optuna
from optuna.exceptions import DuplicatedStudyError, UpdateFinishedTrialError
from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial, TrialState

from tradd.errors import TemporaryError, UsageError
from tradd.research.optimize.storage import batched
from tradd.research.params import ParamRange

SPEC_ATTR = "tradd_spec"
READY_ATTR = "tradd_ready"
ID_ATTR = "optimization_id"
PLANNED_ATTR = "planned_trials"
SKIPPED_ATTR = "skipped_combinations"
READY_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class StudySpec:
    """What is optimized; processes joining a study must bring the same spec."""

    strategy: str
    symbols: tuple[str, ...]
    start: str
    end: str
    bar: str
    method: str
    objective: str
    space: tuple[tuple[str, str, tuple[Any, ...]], ...]
    broker: tuple[tuple[str, float], ...]
    warmup: str = "auto"
    """Bars before the start (`--warmup`): trials of one study share their warm-up."""
    screen: str = ""
    """"kernel top K": the slots are the kernel screen's best K (`optimize.screen`)."""

    def as_json(self) -> str:
        record = asdict(self)
        if not self.screen:
            del record["screen"]  # a study without a screen keeps its earlier default name
        return json.dumps(record, sort_keys=True, default=str)

    def default_name(self) -> str:
        digest = hashlib.sha256(self.as_json().encode()).hexdigest()[:10]
        return f"{self.strategy.rsplit('.', 1)[-1]}-{self.method}-{digest}"

    @staticmethod
    def space_of(space: list[ParamRange]) -> tuple[tuple[str, str, tuple[Any, ...]], ...]:
        return tuple((r.name, r.kind, r.values) for r in space)


@dataclass(frozen=True)
class StudyHandle:
    study: optuna.Study
    storage: BaseStorage
    study_id: int
    optimization_id: str

    def trial_id(self, number: int) -> int:
        return self.storage.get_trial_id_from_study_id_trial_number(self.study_id, number)


def worker_tag() -> str:
    """host:pid, recorded on each trial so stale ones can be recognised after a crash."""
    return f"{socket.gethostname()}:{os.getpid()}"


def open_study(
    storage: BaseStorage,
    name: str,
    spec: StudySpec,
    slots: list[dict[str, Any]],
    skipped: int,
    sampler: optuna.samplers.BaseSampler,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> StudyHandle:
    """Create the study and lay out its slots, or join it once its creator is done."""
    try:
        study = optuna.create_study(
            study_name=name, storage=storage, sampler=sampler, direction="maximize"
        )
    except DuplicatedStudyError:
        study = optuna.load_study(study_name=name, storage=storage, sampler=sampler)
        wait_until_ready(study, name, sleep, clock)
        _check_same_spec(study, name, spec)
        return join_study(storage, name, sampler)
    optimization_id = uuid.uuid4().hex
    study.set_user_attr(SPEC_ATTR, spec.as_json())
    study.set_user_attr(ID_ATTR, optimization_id)
    study.set_user_attr(PLANNED_ATTR, len(slots))
    study.set_user_attr(SKIPPED_ATTR, skipped)
    # The slots after the first in one journal append rather than an append (and an
    # fsync) each; the first alone, as Optuna's journal needs one trial created by this
    # process on file before it can create more unseen.
    for params in slots[:1]:
        study.enqueue_trial(params)
    with batched(storage):
        for params in slots[1:]:
            study.enqueue_trial(params)
    study.set_user_attr(READY_ATTR, True)
    return StudyHandle(study, storage, storage.get_study_id_from_name(name), optimization_id)


def join_study(
    storage: BaseStorage, name: str, sampler: optuna.samplers.BaseSampler
) -> StudyHandle:
    """Attach to a study that is laid out already (used by every forked worker)."""
    study = optuna.load_study(study_name=name, storage=storage, sampler=sampler)
    study_id = storage.get_study_id_from_name(name)
    return StudyHandle(study, storage, study_id, str(study.user_attrs.get(ID_ATTR, "")))


def wait_until_ready(
    study: optuna.Study,
    name: str,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
    what: str = "trials",
) -> None:
    """A joining process waits (bounded) for the creator to lay out the `what`."""
    deadline = clock() + READY_TIMEOUT_S
    delay = 0.05
    while not study.user_attrs.get(READY_ATTR):
        if clock() > deadline:
            raise TemporaryError(
                f"study {name!r} exists but its creator has not finished laying out {what} "
                f"after {READY_TIMEOUT_S:.0f}s; was it interrupted? use another --study"
            )
        sleep(delay)
        delay = min(delay * 2, 1.0)


def _check_same_spec(study: optuna.Study, name: str, spec: StudySpec) -> None:
    theirs = study.user_attrs.get(SPEC_ATTR)
    if theirs is None:
        raise UsageError(f"--study {name!r} exists but was not created by tradd optimize")
    mine, other = json.loads(spec.as_json()), json.loads(theirs)
    differing = sorted(k for k in mine if mine.get(k) != other.get(k))
    if differing:
        raise UsageError(
            f"--study {name!r} was created with different {', '.join(differing)}; "
            f"use the same arguments to join it, or another --study name"
        )


def claim(handle: StudyHandle) -> optuna.Trial | None:
    """Take one WAITING slot (atomically, across processes), or None when none is left."""
    storage = handle.storage
    for waiting in storage.get_all_trials(
        handle.study_id, deepcopy=False, states=(TrialState.WAITING,)
    ):
        trial_id = handle.trial_id(waiting.number)
        try:
            if storage.set_trial_state_values(trial_id, state=TrialState.RUNNING):
                return optuna.Trial(handle.study, trial_id)
        except UpdateFinishedTrialError:
            continue  # another process took and finished it meanwhile
    return None


def recover_stale(handle: StudyHandle, is_alive: Callable[[int], bool]) -> int:
    """Fail RUNNING trials whose worker (on this host) is gone, and lay their slots out again.

    Returns how many were recovered. Trials of other hosts are left alone: we cannot tell.
    """
    host = socket.gethostname()
    recovered = 0
    for trial in handle.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        tag = str(trial.user_attrs.get("worker", ""))
        owner_host, _, pid = tag.rpartition(":")
        if owner_host != host or not pid.isdigit() or is_alive(int(pid)):
            continue
        mark_interrupted(handle, trial, f"worker {tag} is gone")
        recovered += 1
    return recovered


def mark_interrupted(
    handle: StudyHandle, trial: FrozenTrial, reason: str, *, requeue: bool = True
) -> None:
    """End an unfinished trial as FAIL and, unless told not to, queue an identical slot."""
    storage = handle.storage
    trial_id = handle.trial_id(trial.number)
    storage.set_trial_user_attr(trial_id, "error", f"interrupted: {reason}")
    storage.set_trial_user_attr(trial_id, "requeued", requeue)
    try:
        storage.set_trial_state_values(trial_id, state=TrialState.FAIL)
    except UpdateFinishedTrialError:
        return  # it finished after all
    if not requeue:
        return
    fixed = trial.system_attrs.get("fixed_params", {})
    handle.study.enqueue_trial(dict(fixed))


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def suggest(trial: optuna.Trial, space: list[ParamRange]) -> dict[str, Any]:
    """Parameters for this trial: the slot's fixed values (grid) or the sampler's choice."""
    params: dict[str, Any] = {}
    for r in space:
        if r.kind == "int" and len(r.values) > 1:
            params[r.name] = trial.suggest_int(r.name, r.low, r.high, step=int(r.step or 1))
        elif r.kind == "float" and len(r.values) > 1:
            params[r.name] = trial.suggest_float(r.name, r.low, r.high, step=r.step)
        else:
            params[r.name] = trial.suggest_categorical(r.name, list(r.values))
    return params


def completed_duplicate(study: optuna.Study, params: Mapping[str, Any]) -> FrozenTrial | None:
    """A finished trial with exactly these parameters (Bayesian search may propose repeats)."""
    for trial in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        if trial.params == dict(params):
            return trial
    return None
