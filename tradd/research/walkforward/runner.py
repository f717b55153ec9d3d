"""`tradd walkforward`: plan the windows, run them in worker processes, write the report.

`run_walkforward(request, store, progress)` is the whole command without its terminal
output; the CLI (and anything that records runs) calls only that.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from tradd.errors import TraddError, UsageError
from tradd.marketdata.gaps import research_gaps
from tradd.marketdata.store import DataStore
from tradd.research.engine import failed_note
from tradd.research.optimize.storage import parse_storage
from tradd.research.params import ParamRange, grid_size
from tradd.research.progress import Progress, ProgressCounter
from tradd.research.scoring import OBJECTIVES
from tradd.research.setup import LoadedInputs, ResearchInputs, load_inputs, settings_of
from tradd.research.shared.units import UnitStudy
from tradd.research.space import search_space, valid_grid
from tradd.research.walkforward.evaluate import (
    Method,
    WindowPlan,
    WindowResult,
    check_coverage,
)
from tradd.research.walkforward.pool import PoolCallbacks, PoolOutcome, run_windows
from tradd.research.walkforward.report import JSON_FILE, write_outputs
from tradd.research.walkforward.shared import KIND, SharedOutcome, run_shared_windows
from tradd.research.walkforward.summary import WalkForwardSummary, stitch, summarize
from tradd.research.walkforward.windows import MODES, Mode, Window, plan_windows

METHODS = ("grid", "bayesian")


@dataclass(frozen=True)
class WalkForwardRequest:
    inputs: ResearchInputs
    """start/end None: the data's first and last day."""
    is_months: int
    oos_months: int
    mode: Mode
    method: Method
    param_args: tuple[str, ...]
    params_file: Path | None
    objective: str
    output: Path
    trials: int = 50
    """Bayesian: trials per window."""
    workers: int | None = None
    """Processes (None: all cores); never more than there are windows."""
    seed: int | None = None
    confirm: int = 20
    """With a kernel: the best trials of each window run again in Backtrader."""
    use_kernel: bool = True
    storage: str | None = None
    """`--storage`: share the windows with other processes through this study storage
    (None: run them all here, as always)."""
    study: str | None = None
    """`--study`: the study's name (None: one derived from the arguments)."""


def _ignore(*_: Any) -> None:
    return None


@dataclass(frozen=True)
class WalkForwardProgress:
    """Callbacks: progress(IS trials done of every window's), window_done(result),
    notice(text)."""

    progress: Callable[[Progress], None] = _ignore
    window_done: Callable[[WindowResult], None] = _ignore
    notice: Callable[[str], None] = _ignore


@dataclass(frozen=True)
class WalkForwardResult:
    windows: tuple[Window, ...]
    """Every planned window."""
    results: tuple[WindowResult, ...]
    """Finished windows in index order (all of them unless interrupted)."""
    summary: WalkForwardSummary | None
    """None when interrupted before any window finished (nothing is written then)."""
    space: tuple[ParamRange, ...]
    result_path: Path | None
    interrupted: bool = False
    files: dict[str, str] = field(default_factory=dict)
    failed_note: str | None = None
    """"N of M trials failed; first: ..." over every window's IS search (None: none failed)."""
    shared: dict[str, Any] | None = None
    """With --storage: study, storage, windows_run_here, windows_run_elsewhere, pending."""


def run_walkforward(
    request: WalkForwardRequest, store: DataStore, progress: WalkForwardProgress
) -> WalkForwardResult:
    """Optimize every window in sample, test out of sample, summarise, write the report."""
    _check_request(request)
    storage = None if request.storage is None else parse_storage(request.storage, request.output)
    loaded = load_inputs(request.inputs, store)
    data_gaps, lines = research_gaps(loaded.bars, loaded.calendars)
    for line in lines:
        progress.notice(f"warning: {line}")
    start, end = _date_range(request.inputs, loaded)
    windows = plan_windows(start, end, request.is_months, request.oos_months, request.mode)
    space = search_space(loaded.strategy, request.param_args, request.params_file)
    slots = tuple(valid_grid(loaded.strategy, space)[0]) if request.method == "grid" else ()
    check_coverage(loaded.bars, windows)
    inputs = request.inputs
    plan = WindowPlan(
        loaded.strategy,
        tuple(loaded.bars),
        inputs.broker,
        tuple(space),
        request.method,
        request.objective,
        len(slots) if request.method == "grid" else request.trials,
        slots,
        request.seed,
        inputs.risk_free_rate,
        loaded.basis,
        loaded.costs,
        request.confirm,
        request.use_kernel,
    )
    trials = ProgressCounter(progress.progress)
    trials.start(plan.trials * len(windows))
    workers = max(1, min(request.workers or os.cpu_count() or 1, len(windows)))
    callbacks = PoolCallbacks(
        lambda _window: trials.advance(), progress.window_done, progress.notice
    )
    longest_first = request.mode == "anchored"
    shared: dict[str, Any] | None = None
    outcome: PoolOutcome | SharedOutcome
    if storage is None:
        outcome = run_windows(plan, windows, workers, callbacks, longest_first=longest_first)
    else:
        spec = _shared_spec(request, plan, (start, end))
        study = UnitStudy(storage, request.study or default_study(spec), KIND)
        shared_outcome = run_shared_windows(
            plan, windows, workers, callbacks, study, spec, longest_first=longest_first
        )
        shared = _shared_record(study, shared_outcome, progress.notice)
        outcome = shared_outcome
    if outcome.errors:
        raise TraddError("walk-forward failed: " + "; ".join(outcome.errors))
    results = tuple(outcome.results[i] for i in sorted(outcome.results))
    if not results:
        return WalkForwardResult(
            windows, (), None, tuple(space), None, outcome.interrupted, shared=shared
        )
    cash = inputs.broker.cash
    summary = summarize(results, [r.name for r in space], cash, inputs.risk_free_rate, loaded.basis)
    settings = _settings(
        request, loaded, windows, space, (start, end), plan.trials, outcome.interrupted, data_gaps
    )
    note = trials_failed(results)
    settings["failed_trials"] = note
    for line in kernel_lines(results):
        progress.notice(line)
    if shared is not None:
        settings["shared"] = shared
    curve = stitch(results, cash)
    files = write_outputs(request.output, settings, results, summary, curve, cash, loaded.basis)
    return WalkForwardResult(
        windows,
        results,
        summary,
        tuple(space),
        request.output / JSON_FILE,
        outcome.interrupted,
        files,
        note,
        shared,
    )


def _shared_spec(
    request: WalkForwardRequest, plan: WindowPlan, span: tuple[date, date]
) -> dict[str, Any]:
    """What a process joining the study must agree on: everything a window's result
    depends on."""
    inputs = request.inputs
    return {
        **_what_was_run(request, [b.symbol for b in plan.bars], span),
        "trials": plan.trials,
        "seed": request.seed,
        "param_space": {r.name: list(r.values) for r in plan.space},
        "broker": vars(inputs.broker),
        "risk_free_rate": inputs.risk_free_rate,
    }


def _what_was_run(
    request: WalkForwardRequest, symbols: list[str], span: tuple[date, date]
) -> dict[str, Any]:
    """The run's identity, shared by the report's header and the shared study's spec."""
    inputs = request.inputs
    return {
        "strategy": inputs.strategy_path,
        "symbols": symbols,
        "bar": inputs.bar,
        "start": span[0].isoformat(),
        "end": span[1].isoformat(),
        "is_months": request.is_months,
        "oos_months": request.oos_months,
        "mode": request.mode,
        "method": request.method,
        "objective": request.objective,
    }


def default_study(spec: dict[str, Any]) -> str:
    text = json.dumps(spec, sort_keys=True, default=str)
    digest = hashlib.sha256(text.encode()).hexdigest()[:10]
    return f"wf-{str(spec['strategy']).rsplit('.', 1)[-1]}-{digest}"


def _shared_record(
    study: UnitStudy, outcome: SharedOutcome, notice: Callable[[str], None]
) -> dict[str, Any]:
    record = {
        "study": study.name,
        "storage": study.storage.display,
        "windows_run_here": outcome.ran_here,
        "windows_run_elsewhere": len(outcome.results) - outcome.ran_here,
        "pending": outcome.pending,
    }
    notice(
        f"study {study.name} ({study.storage.display}): {outcome.ran_here} window(s) ran here, "
        f"{record['windows_run_elsewhere']} elsewhere"
        + (f", {outcome.pending} not finished" if outcome.pending else "")
    )
    return record


def trials_failed(results: tuple[WindowResult, ...]) -> str | None:
    """The failed IS trials of all windows, with the first one's error (in window order)."""
    counts = [r.counts for r in results]
    failed = sum(c.failed for c in counts)
    trials = sum(c.complete + c.skipped + c.failed for c in counts)
    first = next((c.first_error for c in counts if c.first_error), "")
    return failed_note(failed, trials, first)


def _check_request(request: WalkForwardRequest) -> None:
    """Argument errors before any data is read (the window arithmetic checks again)."""
    if request.is_months < 1:
        raise UsageError(f"--is-months {request.is_months}: must be at least 1")
    if request.oos_months < 1:
        raise UsageError(f"--oos-months {request.oos_months}: must be at least 1")
    if request.mode not in MODES:
        raise UsageError(f"--mode {request.mode!r}: use rolling or anchored")
    if request.objective not in OBJECTIVES:
        raise UsageError(f"--objective {request.objective!r}: use one of {', '.join(OBJECTIVES)}")
    if request.method not in METHODS:
        raise UsageError(f"--method {request.method!r}: use grid or bayesian")
    if request.method == "bayesian" and request.trials < 1:
        raise UsageError(f"--trials {request.trials}: must be at least 1")
    if request.workers is not None and request.workers < 1:
        raise UsageError(f"--workers {request.workers}: must be at least 1")


def _date_range(inputs: ResearchInputs, loaded: LoadedInputs) -> tuple[date, date]:
    """The requested range; by default the days every symbol has data for (the latest
    first day, the earliest last day): a window must cover every symbol."""
    first = max(b.first for b in loaded.bars).date()
    last = min(b.last for b in loaded.bars).date()
    return inputs.start or first, inputs.end or last


def _settings(
    request: WalkForwardRequest,
    loaded: LoadedInputs,
    windows: tuple[Window, ...],
    space: list[ParamRange],
    span: tuple[date, date],
    trials: int,
    interrupted: bool,
    data_gaps: dict[str, dict[str, object]],
) -> dict[str, Any]:
    """The JSON's header: what was run, so a report can be read (and re-run) on its own."""
    inputs = request.inputs
    return {
        **_what_was_run(request, [b.symbol for b in loaded.bars], span),
        "trials_per_window": trials,
        "skipped_invalid_combinations": grid_size(space) - trials
        if request.method == "grid"
        else 0,
        "seed": request.seed,
        "param_space": {r.name: list(r.values) for r in space},
        "broker": vars(inputs.broker),
        "planned_windows": len(windows),
        "interrupted": interrupted,
        "settings": settings_of(loaded).as_dict(),
        "data_gaps": data_gaps,
    }


def kernel_lines(results: tuple[WindowResult, ...]) -> list[str]:
    """What the kernel did: screened and confirmed per window, any window it failed."""
    screened = [r for r in results if r.counts.screened]
    if not screened:
        return []
    lines = [
        f"kernel: {sum(r.counts.screened for r in screened)} in-sample trials screened, "
        f"{sum(r.counts.confirmed for r in screened)} confirmed in Backtrader"
    ]
    for r in screened:
        if r.counts.fallback:
            lines.append(
                f"warning: window {r.window.index}: the kernel is not faithful on this run "
                f"({r.counts.fallback}); its whole search ran in Backtrader"
            )
    return lines
