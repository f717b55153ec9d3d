"""A walk-forward's windows in the research pool (`tradd.research.pool`), one per unit.

Workers are forked after the data is loaded, so they inherit the bars and the plan
(copy-on-write). Anchored windows, whose IS grows, go biggest first: starting the big ones
early keeps the cores busy to the end. Each IS trial is a note (the progress bar); each
window's result comes back when it is done.

Ctrl-C is the pool's: the first stops every window after its current trial (finished
windows are kept), the second kills the workers. A window that fails (a strategy bug, bad
data) or whose worker dies (killed, out of memory) ends the run at once and the other
workers are killed: the walk-forward is incomplete without that window, so their work
would be thrown away.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

from tradd.research.pool import Cause, Done, Ending, Event, ForkPool, Note, Reporter
from tradd.research.walkforward.evaluate import (
    WindowPlan,
    WindowResult,
    WindowStopped,
    run_window,
)
from tradd.research.walkforward.windows import Window


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
    order = sorted(windows, key=lambda w: -w.index if longest_first else w.index)
    pool: ForkPool[Window, WindowResult | None] = ForkPool(
        lambda _slot: partial(_one_window, plan), workers, noun="trials", notice=callbacks.notice
    )
    outcome = PoolOutcome()

    def sink(event: Event[WindowResult | None]) -> None:
        window = order[event.index].index
        if isinstance(event, Note):
            callbacks.trial(window)
        elif isinstance(event, Done):
            if event.result is not None:  # None: stopped between trials
                outcome.results[window] = event.result
                callbacks.window(event.result)
        elif event.cause is not Cause.ABORTED:
            outcome.errors.append(f"window {window}: {event.reason}")
            pool.abort()

    ending = pool.run(order, sink)
    outcome.interrupted = ending is not Ending.FINISHED and not outcome.errors
    return outcome


def _one_window(plan: WindowPlan, window: Window, reporter: Reporter) -> WindowResult | None:
    try:
        return run_window(plan, window, partial(reporter.note, None), reporter.stopping)
    except WindowStopped:
        return None
