"""A walk-forward shared through a study (`--storage/--study`): one unit per window.

Every process that joins with the same arguments runs the windows nobody has claimed
(`tradd.research.shared`), and reports from the windows stored in the study, whoever ran
them: the process that finishes last reports every window. A window that fails (a
strategy error, or its worker died) fails the walk-forward everywhere: each process
reports the stored error. Without `--storage` none of this runs (`pool.run_windows`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from tradd.research.pool import Reporter
from tradd.research.shared.unitpool import UnitHooks, run_units
from tradd.research.shared.units import UnitStudy, open_units
from tradd.research.walkforward.codec import decode_window, encode_window
from tradd.research.walkforward.evaluate import WindowPlan, WindowResult, WindowStopped, run_window
from tradd.research.walkforward.pool import PoolCallbacks
from tradd.research.walkforward.windows import Window

KIND = "walkforward"


@dataclass
class SharedOutcome:
    results: dict[int, WindowResult] = field(default_factory=dict)
    """Every window stored in the study, whoever ran it."""
    errors: list[str] = field(default_factory=list)
    interrupted: bool = False
    ran_here: int = 0
    pending: int = 0
    """Windows neither finished nor failed when this process reported (others still run
    them, or this one was interrupted)."""


def run_shared_windows(
    plan: WindowPlan,
    windows: Sequence[Window],
    workers: int,
    callbacks: PoolCallbacks,
    study: UnitStudy,
    spec: Mapping[str, Any],
    *,
    longest_first: bool = False,
) -> SharedOutcome:
    """Lay out (or join) the windows in the study, run what is left, collect them all."""
    order = sorted(windows, key=lambda w: -w.index if longest_first else w.index)
    handle = open_units(study, spec, [str(w.index) for w in order])
    by_index = {w.index: w for w in windows}
    hooks = UnitHooks(
        done=lambda _key, text: callbacks.window(decode_window(text)),
        note=lambda _payload: callbacks.trial(-1),
        notice=callbacks.notice,
        stop_on_failure=True,
    )
    work = partial(_one_window, plan, by_index)
    outcome = run_units(study, handle, work, workers, hooks)
    stored = outcome.stored
    results = {int(k): decode_window(v) for k, v in stored.results.items()}
    failed = sorted(stored.errors.items(), key=lambda item: int(item[0]))
    errors = [f"window {k}: {e}" for k, e in failed] or [f"window {e}" for e in outcome.errors]
    return SharedOutcome(
        results,
        errors,
        outcome.interrupted,
        outcome.ran_here,
        len(windows) - len(results) - len(stored.errors),
    )


def _one_window(
    plan: WindowPlan, windows: Mapping[int, Window], key: str, reporter: Reporter
) -> str | None:
    window = windows[int(key)]
    try:
        result = run_window(plan, window, partial(reporter.note, None), reporter.stopping)
    except WindowStopped:
        return None
    return encode_window(result)
