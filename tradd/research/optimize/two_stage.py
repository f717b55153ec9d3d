"""Screen with the kernel, confirm in Backtrader, and fall back when they disagree.

`screen_stage` replaces the search's slots by the screen's best (grid: of every valid
combination; Bayesian: of N kernel trials); the pool then runs them in Backtrader as any
optimization's trials, each checked against the kernel. `confirm_or_fall_back` reads
those checks: one difference and the kernel is not trusted for this run: the rest of the
search (the other grid combinations, the remaining Bayesian trials) is laid out as
slots and run in Backtrader too, so no figure ever comes from an unfaithful kernel.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from tradd.research.kernels.engine import KernelEngine, kernel_of, unfit_reason
from tradd.research.optimize.pool import PoolResult, WorkerSetup, run_pool
from tradd.research.optimize.screen import ScreenResult, screen_bayesian, screen_grid
from tradd.research.optimize.study import StudyHandle
from tradd.research.optimize.trial import KERNEL_MISMATCH_ATTR, TrialOutcome, TrialPlan
from tradd.research.params import ParamRange

FALLBACK_ATTR = "kernel_fallback"


@dataclass(frozen=True)
class ScreenOptions:
    use_kernel: bool
    method: str
    trials: int
    confirm: int
    seed: int | None
    workers: int = 1


def screen_stage(
    request: ScreenOptions,
    plan: TrialPlan,
    space: list[ParamRange],
    slots: list[dict[str, Any]],
    notice: Callable[[str], None],
) -> tuple[TrialPlan, list[dict[str, Any]], ScreenResult | None]:
    """(the plan, the slots to lay out, the screen): unchanged when no kernel is used."""
    candidates = len(slots) if request.method == "grid" else request.trials
    if not request.use_kernel or candidates <= request.confirm:
        return plan, slots, None  # Backtrader would run every one of them anyway
    kernel = KernelEngine.for_engine(plan.engine)
    if kernel is None:
        if kernel_of(plan.engine.strategy) is not None:
            notice(f"kernel not used: {unfit_reason(plan.engine)}; every trial runs in Backtrader")
        return plan, slots, None
    if request.method == "grid":
        screen = screen_grid(kernel, plan, slots, request.confirm, request.workers)
        what = "combinations"
    else:
        screen = screen_bayesian(kernel, plan, space, request.trials, request.confirm, request.seed)
        what = "Bayesian trials"
    if not screen.chosen:
        notice("the kernel scored no combination; every trial runs in Backtrader")
        return plan, slots, None
    notice(
        f"screened {screen.screened} {what} with the kernel in {screen.seconds:.2f}s; "
        f"confirming the best {len(screen.chosen)} in Backtrader"
    )
    return replace(plan, kernel=kernel), screen.chosen, screen


def confirm_or_fall_back(
    setup: WorkerSetup,
    handle: StudyHandle,
    screen: ScreenResult,
    workers: int,
    on_outcome: Callable[[TrialOutcome], None],
    notice: Callable[[str], None],
) -> PoolResult:
    """After the confirmation: nothing more when every check agreed; otherwise the rest
    of the search in Backtrader (laid out once, by whichever process sees it first)."""
    trials = handle.study.get_trials(deepcopy=False)
    differing = [t for t in trials if KERNEL_MISMATCH_ATTR in t.user_attrs]
    if not differing:
        return PoolResult()
    first = differing[0]
    why = f"{first.params}: {first.user_attrs[KERNEL_MISMATCH_ATTR]}"
    screen.fallback = why
    notice(
        f"warning: the kernel is not faithful on this run ({why}); "
        "falling back to Backtrader for the whole search"
    )
    if not handle.study.user_attrs.get(FALLBACK_ATTR):
        handle.study.set_user_attr(FALLBACK_ATTR, why)
        for params in screen.rest:
            handle.study.enqueue_trial(params)
    plain = replace(setup, plan=replace(setup.plan, kernel=None))
    return run_pool(plain, workers, on_outcome, notice)
