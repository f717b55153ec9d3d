"""A journal's batched writes: one append at the end of the block, seen by every reader
then (and by none before), in the order they were made."""

from __future__ import annotations

from pathlib import Path

import optuna
from optuna.trial import TrialState

from tradd.research.optimize.storage import batched, parse_storage
from tradd.research.optimize.study import StudySpec, claim, join_study, open_study

SPEC = StudySpec(
    "s.S", ("GOOG",), "", "", "1d", "grid", "sharpe", (("fast", "int", (1, 2, 3)),), ()
)


def _study(path: Path) -> tuple[optuna.Study, optuna.Study]:
    """The same study opened twice, as two processes would (each its own storage)."""
    spec = parse_storage(str(path), path.parent)
    sampler = optuna.samplers.RandomSampler()
    slots = [{"fast": 1}, {"fast": 2}, {"fast": 3}]
    mine = open_study(spec.open(), "x", SPEC, slots, 0, sampler)
    theirs = join_study(spec.open(), "x", sampler)
    return mine.study, theirs.study


def test_batched_writes_land_together_at_the_end_of_the_block(tmp_path: Path) -> None:
    mine, theirs = _study(tmp_path / "s.journal")
    waiting = theirs.get_trials(deepcopy=False, states=(TrialState.WAITING,))
    assert [t.system_attrs["fixed_params"] for t in waiting] == [
        {"fast": 1},
        {"fast": 2},
        {"fast": 3},
    ]  # fmt: skip  (the slots laid out in one batch are all there, in order)
    handle = join_study(mine._storage, "x", optuna.samplers.RandomSampler())
    trial = claim(handle)
    assert trial is not None
    with batched(mine._storage):
        assert trial.suggest_int("fast", 1, 3) == 1
        trial.set_user_attr("metrics", {"sharpe": 1.5})
        mine.tell(trial, 1.5)
        seen = theirs.get_trials(deepcopy=False)[trial.number]
        assert seen.state == TrialState.RUNNING and seen.params == {}  # not written yet
    done = theirs.get_trials(deepcopy=False)[trial.number]
    assert done.state == TrialState.COMPLETE
    assert (done.params, done.value, done.user_attrs) == (
        {"fast": 1},
        1.5,
        {"metrics": {"sharpe": 1.5}},
    )
    assert mine.get_trials(deepcopy=False)[trial.number].state == TrialState.COMPLETE


def test_a_block_that_raises_still_writes_what_it_made(tmp_path: Path) -> None:
    mine, theirs = _study(tmp_path / "s.journal")
    handle = join_study(mine._storage, "x", optuna.samplers.RandomSampler())
    trial = claim(handle)
    assert trial is not None
    try:
        with batched(mine._storage):
            trial.set_user_attr("error", "boom")
            mine.tell(trial, state=TrialState.FAIL)
            raise RuntimeError("after the records")
    except RuntimeError:
        pass
    failed = theirs.get_trials(deepcopy=False)[trial.number]
    assert (failed.state, failed.user_attrs) == (TrialState.FAIL, {"error": "boom"})
