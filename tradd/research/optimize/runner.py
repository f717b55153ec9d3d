"""`tradd optimize`: lay out the search, run it in worker processes, write the report."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from optuna.trial import TrialState

from tradd.errors import UsageError
from tradd.marketdata.gaps import research_gaps
from tradd.marketdata.store import DataStore
from tradd.research.engine import BacktestEngine
from tradd.research.optimize.overfitting import assess
from tradd.research.optimize.pool import WorkerSetup, make_sampler, run_pool
from tradd.research.optimize.report import Summary, rows_from_trials, start_plots, write_outputs
from tradd.research.optimize.screen import DEFAULT_CONFIRM, ScreenResult
from tradd.research.optimize.storage import parse_storage
from tradd.research.optimize.study import (
    StudyHandle,
    StudySpec,
    open_study,
    pid_alive,
    recover_stale,
)
from tradd.research.optimize.trial import TrialOutcome, TrialPlan
from tradd.research.optimize.two_stage import ScreenOptions, confirm_or_fall_back, screen_stage
from tradd.research.params import ParamRange
from tradd.research.progress import Progress, ProgressCounter
from tradd.research.setup import LoadedInputs, ResearchInputs, load_inputs, settings_of
from tradd.research.space import search_space, valid_grid
from tradd.research.warmup import measured_from, needed_for_space, with_warmup

Method = Literal["grid", "bayesian"]


@dataclass(frozen=True)
class OptimizeRequest:
    inputs: ResearchInputs
    method: Method
    param_args: tuple[str, ...]
    params_file: Path | None
    objective: str
    output: Path
    trials: int = 100
    workers: int | None = None
    storage: str | None = None
    study: str | None = None
    seed: int | None = None
    confirm: int = DEFAULT_CONFIRM
    """With a kernel: how many of the screen's best are run in Backtrader."""
    use_kernel: bool = True
    """False (`--no-kernel`): every trial in Backtrader, as if the strategy had no kernel."""


@dataclass(frozen=True)
class OptimizeProgress:
    """Callbacks the CLI provides: progress(trials done of those waiting), outcome(each
    trial run here), notice(text)."""

    progress: Callable[[Progress], None]
    outcome: Callable[[TrialOutcome], None]
    notice: Callable[[str], None]


OTHERS_TIMEOUT_S = 600.0


def run_optimization(
    request: OptimizeRequest,
    store: DataStore,
    progress: OptimizeProgress,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Summary:
    loaded = load_inputs(request.inputs, store)
    data_gaps, lines = research_gaps(loaded.bars, loaded.calendars)
    for line in lines:
        progress.notice(f"warning: {line}")
    space = search_space(loaded.strategy, request.param_args, request.params_file)
    slots, skipped = _slots(request, loaded, space)
    storage_spec = parse_storage(request.storage, request.output)
    # One probe per run: the space's largest periods set the warm-up of every trial.
    loaded = with_warmup(loaded, needed_for_space(loaded.strategy, loaded.bars, space))
    engine = BacktestEngine(
        loaded.strategy,
        loaded.bars,
        request.inputs.broker,
        costs=loaded.costs,
        trade_from=loaded.measured_from,
    )
    first = measured_from(engine.clock, loaded.measured_from)
    plan = TrialPlan(
        engine,
        space,
        request.objective,
        request.inputs.broker.cash,
        request.inputs.risk_free_rate,
        dedupe=request.method == "bayesian",
        basis=loaded.basis,
        first=first,
    )
    options = ScreenOptions(
        request.use_kernel, request.method, request.trials, request.confirm, request.seed,
        request.workers or os.cpu_count() or 1,
    )  # fmt: skip
    plan, slots, screen = screen_stage(options, plan, space, slots, progress.notice)
    spec = _spec(request, loaded, space, screen)
    storage = storage_spec.open()
    name = request.study or spec.default_name()
    handle = open_study(storage, name, spec, slots, skipped, make_sampler(request.method, None, 0))
    recovered = recover_stale(handle, pid_alive)
    if recovered:
        progress.notice(f"re-queued {recovered} trial(s) left unfinished by a dead worker")
    waiting = sum(1 for t in handle.study.get_trials(deepcopy=False) if t.state.name == "WAITING")
    counter = ProgressCounter(progress.progress)
    counter.start(waiting)
    setup = WorkerSetup(plan, storage_spec, name, request.method, request.seed)
    workers = max(1, min(request.workers or os.cpu_count() or 1, max(waiting, 1)))
    ran_here: list[TrialOutcome] = []

    def on_outcome(outcome: TrialOutcome) -> None:
        ran_here.append(outcome)
        counter.advance()
        progress.outcome(outcome)

    result = run_pool(setup, workers, on_outcome, progress.notice)
    for error in result.worker_errors or []:
        progress.notice(f"worker error: {error}")
    if not (result.interrupted or result.aborted):
        _wait_for_others(handle, progress.notice, clock, sleep)
    if screen is not None and not (result.interrupted or result.aborted):
        result = confirm_or_fall_back(setup, handle, screen, workers, on_outcome, progress.notice)
        if not (result.interrupted or result.aborted):
            _wait_for_others(handle, progress.notice, clock, sleep)
    trials = handle.study.get_trials(deepcopy=False)
    summary = Summary(
        optimization_id=handle.optimization_id,
        study=name,
        storage=storage_spec.display,
        strategy=request.inputs.strategy_path,
        method=request.method,
        objective=request.objective,
        symbols=[b.symbol for b in loaded.bars],
        start=str(engine.clock[first].astype("datetime64[D]")),
        end=str(engine.clock[-1].astype("datetime64[D]")),
        space=space,
        rows=rows_from_trials(trials),
        skipped_combinations=int(handle.study.user_attrs.get("skipped_combinations", skipped)),
        ran_here=len(ran_here),
        interrupted=result.interrupted or result.aborted,
        settings=settings_of(loaded, loaded.warmup).as_dict(),
        warmup=loaded.warmup,
        data_gaps=data_gaps,
        screen=None if screen is None else screen.report,
    )
    best = summary.ranked[0].number if summary.ranked else None
    plots = start_plots(
        summary, request.output, handle.study
    )  # drawn while the statistics are computed
    summary.overfitting = assess(
        trials, best, request.inputs.risk_free_rate, loaded.basis,
        screened=None if screen is None or screen.fell_back else screen.breadth,
    )  # fmt: skip
    write_outputs(summary, request.output, handle.study, plots=plots)
    return summary


def _wait_for_others(
    handle: StudyHandle,
    notice: Callable[[str], None],
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> None:
    """Cooperating processes may still be running the last trials: let the report include them.

    Bounded: a process that died elsewhere leaves RUNNING trials nobody will finish.
    """
    deadline = clock() + OTHERS_TIMEOUT_S
    announced = False
    while running := len(handle.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))):
        if clock() > deadline:
            notice(f"{running} trial(s) still running elsewhere; reporting without them")
            return
        if not announced:
            notice(f"waiting for {running} trial(s) running in other processes")
            announced = True
        sleep(0.2)


def _slots(
    request: OptimizeRequest, loaded: LoadedInputs, space: list[ParamRange]
) -> tuple[list[dict[str, Any]], int]:
    """Grid: every valid combination (invalid ones are counted, not run). Bayesian: N blanks."""
    if request.method == "bayesian":
        if request.trials < 1:
            raise UsageError("--trials must be at least 1")
        return [{} for _ in range(request.trials)], 0
    return valid_grid(loaded.strategy, space)


def _spec(
    request: OptimizeRequest,
    loaded: LoadedInputs,
    space: list[ParamRange],
    screen: ScreenResult | None,
) -> StudySpec:
    inputs = request.inputs
    return StudySpec(
        strategy=inputs.strategy_path,
        symbols=tuple(b.symbol for b in loaded.bars),
        start=str(inputs.start or ""),
        end=str(inputs.end or ""),
        bar=inputs.bar,
        method=request.method,
        objective=request.objective,
        space=StudySpec.space_of(space),
        broker=tuple(sorted(vars(inputs.broker).items())),
        warmup="auto" if inputs.warmup is None else str(inputs.warmup),
        screen="" if screen is None else f"kernel top {request.confirm}",
    )
