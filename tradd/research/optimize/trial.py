"""Evaluate one claimed trial and record its outcome in the study."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import optuna
from optuna.trial import TrialState

from tradd.research.engine import BacktestEngine, RunResult, StrategySkipped, failure_text
from tradd.research.kernels.engine import KernelEngine
from tradd.research.kernels.parity import mismatch
from tradd.research.metrics import US_DAILY, ReturnBasis, period_returns, run_metrics
from tradd.research.optimize.overfitting import RETURNS_ATTR, encode_returns
from tradd.research.optimize.storage import batched
from tradd.research.optimize.study import StudyHandle, completed_duplicate, suggest
from tradd.research.params import ParamRange
from tradd.research.scoring import objective_value
from tradd.strategy_loader import full_params, invalid_reason

OutcomeState = Literal["complete", "skipped", "failed"]
KERNEL_MISMATCH_ATTR = "kernel_mismatch"
"""Set on a confirmation trial whose kernel run differs from Backtrader's (the why)."""


@dataclass(frozen=True)
class TrialPlan:
    """Everything a worker needs to evaluate trials; inherited by forked workers as is."""

    engine: BacktestEngine
    space: list[ParamRange]
    objective: str
    initial_cash: float
    risk_free_rate: float
    dedupe: bool
    """Bayesian search may propose a finished combination again: reuse its result."""
    basis: ReturnBasis = US_DAILY
    first: int = 0
    """The first measured bar of `engine.clock`: the bars before it are warm-up."""
    kernel: KernelEngine | None = None
    """Confirming a kernel's screen: each Backtrader run is checked against the kernel."""


@dataclass(frozen=True)
class TrialOutcome:
    worker: int
    number: int
    state: OutcomeState
    params: dict[str, Any]
    value: float | None = None
    error: str | None = None


def evaluate(
    plan: TrialPlan, handle: StudyHandle, trial: optuna.Trial, worker: int = 0
) -> TrialOutcome:
    """Run the trial and record its outcome (its params, metrics, returns, state).

    The records reach the storage together when the trial ends (`batched`: one journal
    append, not one per record). A grid trial's params are among them: its slot carries
    them and nothing reads them before the trial ends. A Bayesian trial writes its params
    as they are drawn: the other workers' samplers read running trials (constant liar)."""
    with batched(handle.storage, enabled=not plan.dedupe):
        params = suggest(trial, plan.space)
        with batched(handle.storage):
            return _evaluate(plan, handle, trial, params, worker)


def _evaluate(
    plan: TrialPlan, handle: StudyHandle, trial: optuna.Trial, params: dict[str, Any], worker: int
) -> TrialOutcome:
    strategy = plan.engine.strategy
    full = full_params(strategy, params)
    reason = invalid_reason(strategy, full)
    if reason:
        return _skip(handle, trial, params, reason, worker)
    if plan.dedupe:
        earlier = completed_duplicate(handle.study, params)
        if earlier is not None and earlier.value is not None:
            trial.set_user_attr("metrics", earlier.user_attrs.get("metrics", {}))
            trial.set_user_attr("duplicate_of", earlier.number)
            handle.study.tell(trial, earlier.value)
            return TrialOutcome(worker, trial.number, "complete", params, earlier.value)
    try:
        metrics, daily, differs = _backtest(plan, full)
    except StrategySkipped as exc:
        return _skip(handle, trial, params, str(exc), worker)
    except Exception as exc:  # a strategy bug fails this trial, not the optimization
        error = failure_text(exc)
        trial.set_user_attr("error", error)
        if plan.kernel is not None and _kernel_runs(plan.kernel, full):
            # The kernel scored what Backtrader cannot run: they disagree.
            trial.set_user_attr(KERNEL_MISMATCH_ATTR, f"Backtrader failed: {error}")
        handle.study.tell(trial, state=TrialState.FAIL)
        return TrialOutcome(worker, trial.number, "failed", params, error=error)
    value = objective_value(metrics, plan.objective)
    if differs is not None:
        trial.set_user_attr(KERNEL_MISMATCH_ATTR, differs)
    trial.set_user_attr("metrics", metrics)
    trial.set_user_attr(RETURNS_ATTR, encode_returns(daily))  # for the overfitting statistics
    handle.study.tell(trial, value)
    return TrialOutcome(worker, trial.number, "complete", params, value)


def _backtest(
    plan: TrialPlan, params: dict[str, Any]
) -> tuple[dict[str, float], npt.NDArray[np.float64], str | None]:
    """The trial's metrics, its daily returns (the metrics' convention), and how the
    kernel's run differs from Backtrader's (None: it agrees, or there is no kernel)."""
    result = plan.engine.run(params)
    differs = None if plan.kernel is None else _kernel_differs(plan.kernel, params, result)
    clock, equity = plan.engine.clock[plan.first :], result.equity[plan.first :]
    metrics = run_metrics(
        result, equity, clock, initial_cash=plan.initial_cash, symbols=len(plan.engine.bars),
        risk_free_rate=plan.risk_free_rate, basis=plan.basis,
    ).as_dict()  # fmt: skip
    if len(equity) == 0:
        return metrics, np.zeros(0), differs
    return metrics, period_returns(equity, clock, plan.initial_cash, plan.basis), differs


def _kernel_differs(kernel: KernelEngine, params: dict[str, Any], result: RunResult) -> str | None:
    try:
        return mismatch(result, kernel.run(params))
    except Exception as exc:
        return f"the kernel failed: {failure_text(exc)}"


def _skip(
    handle: StudyHandle, trial: optuna.Trial, params: dict[str, Any], reason: str, worker: int
) -> TrialOutcome:
    trial.set_user_attr("skipped", reason)
    handle.study.tell(trial, state=TrialState.PRUNED)
    return TrialOutcome(worker, trial.number, "skipped", params, error=reason)


def _kernel_runs(kernel: KernelEngine, params: dict[str, Any]) -> bool:
    try:
        kernel.simulate(params)
    except Exception:
        return False
    return True
