"""Run every strategy of a comparison on the same bars, each in a worker process.

The bars are loaded once; the research pool's workers are forked from the parent and
inherit them, as `tradd optimize`'s do. Every strategy is run through the same
`BacktestEngine` and metrics as `tradd backtest`, so a comparison's numbers are the ones
a single backtest reports.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import backtrader as bt
import numpy as np
import numpy.typing as npt

from tradd.errors import DataError, TraddError, UsageError
from tradd.marketdata.bars import Bars, TimeArray
from tradd.marketdata.store import DataStore
from tradd.research.compare.sources import params_for, read_source
from tradd.research.costs import CostScheme
from tradd.research.engine import BacktestEngine, failure_text
from tradd.research.metrics import Metrics, ReturnBasis, period_returns, run_metrics
from tradd.research.pool import Cause, Done, Ending, Event, Failed, ForkPool, Reporter
from tradd.research.run_settings import WarmupInfo
from tradd.research.setup import ResearchInputs, load_inputs, settings_of
from tradd.research.warmup import measured, needed_bars, warm
from tradd.strategy_loader import full_params, invalid_reason, load_strategy

MIN_STRATEGIES = 2


@dataclass(frozen=True)
class CompareRequest:
    """`inputs` holds what all strategies share (symbols, dates, bar, broker); its
    `strategy_path` is the first of `strategies`."""

    inputs: ResearchInputs
    strategies: tuple[str, ...]
    params_files: tuple[Path, ...] = ()
    workers: int | None = None


@dataclass(frozen=True)
class Contender:
    label: str
    """Unique in the comparison: the class name, or more when that is ambiguous."""
    path: str
    strategy: type[bt.Strategy]
    params: dict[str, Any]
    params_source: str | None = None
    warmup_needed: int = 0
    """Bars its indicators need before the start (the warm-up it is fed, unless --warmup)."""


@dataclass(frozen=True)
class CompareProgress:
    """What a comparison tells whoever shows it: `start(total)` once every strategy is
    loaded (the backtests to run), `finished(index, contender, metrics)` as each ends
    (in the parent process, in the order they end)."""

    start: Callable[[int], None] = lambda _total: None
    finished: Callable[[int, Contender, Metrics], None] = lambda _i, _c, _m: None


@dataclass(frozen=True)
class StrategyRun:
    contender: Contender
    metrics: Metrics
    clock: TimeArray
    equity: npt.NDArray[np.float64]
    daily: npt.NDArray[np.float64]
    """Period returns (`metrics.period_returns`): the same periods for every strategy."""
    warmup: WarmupInfo | None = None


@dataclass(frozen=True)
class Prepared:
    contenders: tuple[Contender, ...]
    bars: tuple[Bars, ...]
    basis: ReturnBasis = field(default_factory=ReturnBasis)
    settings: dict[str, Any] = field(default_factory=dict)
    """What shaped every run (`research.run_settings`; warm-up is per strategy)."""
    costs: dict[str, CostScheme] | None = None
    """Each symbol's commission scheme (`LoadedInputs.costs`)."""
    history: tuple[Bars, ...] = ()
    """The bars up to the end from the first on file: each contender's warm-up."""


@dataclass(frozen=True)
class _Done:
    index: int
    metrics: Metrics
    clock: TimeArray
    equity: npt.NDArray[np.float64]
    daily: npt.NDArray[np.float64]
    warmup: WarmupInfo | None = None


@dataclass(frozen=True)
class _Failed:
    index: int
    error: str
    data: bool = False
    """The data was at fault (too few bars): exit 65, not 1."""


def prepare(request: CompareRequest, store: DataStore) -> Prepared:
    """Load the bars and every strategy, and settle each one's parameters, before any run:
    a mistake in the last strategy's params file should not cost the others' runs."""
    paths = request.strategies
    if len(paths) < MIN_STRATEGIES:
        raise UsageError(f"--strategies: give at least {MIN_STRATEGIES} strategies to compare")
    if len(request.params_files) > len(paths):
        raise UsageError(
            f"--params-from: {len(request.params_files)} files for {len(paths)} strategies "
            "(one per strategy, in order)"
        )
    loaded = load_inputs(replace(request.inputs, strategy_path=paths[0]), store)
    classes = [loaded.strategy, *(load_strategy(p) for p in paths[1:])]
    labels = unique_labels(paths)
    contenders = []
    for i, (path, cls) in enumerate(zip(paths, classes, strict=True)):
        source = read_source(request.params_files[i]) if i < len(request.params_files) else None
        params = full_params(cls, params_for(source, path, cls) if source else {})
        reason = invalid_reason(cls, params)
        if reason:
            where = f" (from {source.path})" if source else ""
            raise UsageError(f"{path}: invalid parameters {params}{where}: {reason}")
        origin = str(source.path) if source else None
        needed = needed_bars(cls, loaded.bars, params)
        contenders.append(Contender(labels[i], path, cls, params, origin, needed))
    record = settings_of(loaded).as_dict()
    return Prepared(
        tuple(contenders), tuple(loaded.bars), loaded.basis, record, loaded.costs, loaded.history
    )


def unique_labels(paths: Sequence[str]) -> list[str]:
    """Class names; full paths if two classes share a name; `#n` for a repeated path
    (the same strategy compared with different parameters)."""
    distinct = set(paths)
    labels = [p.rsplit(".", 1)[-1] for p in paths]
    if len({p.rsplit(".", 1)[-1] for p in distinct}) < len(distinct):
        labels = list(paths)
    repeated = {label for label, n in Counter(labels).items() if n > 1}
    seen: Counter[str] = Counter()
    out = []
    for label in labels:
        seen[label] += 1
        out.append(f"{label} #{seen[label]}" if label in repeated else label)
    return out


def run_all(
    prepared: Prepared,
    inputs: ResearchInputs,
    workers: int | None = None,
    notice: Callable[[str], None] = lambda _: None,
    progress: CompareProgress | None = None,
) -> list[StrategyRun]:
    """Every contender's run, in the contenders' order; any failure stops the comparison
    at once (the other workers are killed). KeyboardInterrupt if Ctrl-C stopped it."""
    jobs = prepared.contenders
    told = progress or CompareProgress()
    told.start(len(jobs))
    limit = max(1, min(workers or os.cpu_count() or 1, len(jobs)))
    pool: ForkPool[int, _Done | _Failed] = ForkPool(
        lambda _slot: partial(_run_or_fail, prepared, inputs),
        limit,
        noun="backtests",
        notice=notice,
    )
    done: dict[int, _Done] = {}
    failed: list[_Failed] = []

    def sink(event: Event[_Done | _Failed]) -> None:
        if isinstance(event, Done):
            result = event.result
            if isinstance(result, _Done):
                done[event.index] = result
                told.finished(event.index, jobs[event.index], result.metrics)
            else:
                failed.append(result)
        elif isinstance(event, Failed) and event.cause is not Cause.ABORTED:
            failed.append(_Failed(event.index, event.reason))
        if failed:
            pool.abort()

    ending = pool.run(range(len(jobs)), sink)
    if failed:
        first = failed[0]
        error = DataError if first.data else TraddError
        raise error(f"{jobs[first.index].path}: backtest failed: {first.error}")
    if ending is not Ending.FINISHED:
        raise KeyboardInterrupt
    return [
        StrategyRun(
            jobs[i], done[i].metrics, done[i].clock, done[i].equity, done[i].daily, done[i].warmup
        )
        for i in range(len(jobs))
    ]


def _run_or_fail(
    prepared: Prepared, inputs: ResearchInputs, index: int, _reporter: Reporter
) -> _Done | _Failed:
    """A strategy's failure is named by its own text, and a data error kept apart (exit 65)."""
    try:
        return _run_one(prepared, inputs, index)
    except Exception as exc:
        return _Failed(index, failure_text(exc), isinstance(exc, DataError))


def _run_one(prepared: Prepared, inputs: ResearchInputs, index: int) -> _Done:
    contender = prepared.contenders[index]
    needed = contender.warmup_needed
    asked = needed if inputs.warmup is None else inputs.warmup
    fed = warm(prepared.history or prepared.bars, inputs.start, asked, needed)
    engine = BacktestEngine(
        contender.strategy,
        list(fed.bars),
        inputs.broker,
        costs=prepared.costs,
        trade_from=fed.trade_from,
    )
    result = engine.run(contender.params)
    cash = inputs.broker.cash
    clock, equity = measured(engine.clock, result.equity, fed.trade_from)
    metrics = run_metrics(
        result, equity, clock, initial_cash=cash, symbols=len(fed.bars),
        risk_free_rate=inputs.risk_free_rate, basis=prepared.basis,
    )  # fmt: skip
    daily = period_returns(equity, clock, cash, prepared.basis)
    return _Done(index, metrics, clock, equity, daily, fed.info)
