"""Run every strategy of a comparison on the same bars, each in a worker process.

The bars are loaded once; workers are forked from the parent and inherit them, as
`tradd optimize` does. Every strategy is run through the same `BacktestEngine` and metrics
as `tradd backtest`, so a comparison's numbers are the ones a single backtest reports.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import queue
import signal
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from multiprocessing.process import BaseProcess
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
from tradd.research.metrics import Metrics, ReturnBasis, compute_metrics, period_returns
from tradd.research.run_settings import WarmupInfo
from tradd.research.setup import ResearchInputs, load_inputs, settings_of
from tradd.research.warmup import measured, needed_bars, warm
from tradd.strategy_loader import full_params, invalid_reason, load_strategy

POLL_S = 0.5
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
    prepared: Prepared, inputs: ResearchInputs, workers: int | None = None
) -> list[StrategyRun]:
    """Every contender's run, in the contenders' order; any failure stops the comparison."""
    jobs = prepared.contenders
    limit = max(1, min(workers or os.cpu_count() or 1, len(jobs)))
    context = multiprocessing.get_context("fork")
    results: multiprocessing.Queue[_Done | _Failed] = context.Queue()
    gc.collect()
    gc.freeze()  # the inherited heap (the bars) stays shared: children's GC never copies it
    running: dict[int, BaseProcess] = {}
    done: dict[int, _Done] = {}
    waiting = list(range(len(jobs)))
    try:
        while len(done) < len(jobs):
            while waiting and len(running) < limit:
                index = waiting.pop(0)
                args = (prepared, inputs, index, results)
                running[index] = context.Process(target=_worker, args=args, daemon=True)
                running[index].start()
            message = _next_message(results, running)
            running.pop(message.index).join(timeout=10)
            if isinstance(message, _Failed):
                error = DataError if message.data else TraddError
                raise error(f"{jobs[message.index].path}: backtest failed: {message.error}")
            done[message.index] = message
    finally:
        for process in running.values():
            process.kill()
            process.join(timeout=10)
        gc.unfreeze()
    return [
        StrategyRun(
            jobs[i], done[i].metrics, done[i].clock, done[i].equity, done[i].daily, done[i].warmup
        )
        for i in range(len(jobs))
    ]


def _next_message(
    results: multiprocessing.Queue[_Done | _Failed], running: dict[int, BaseProcess]
) -> _Done | _Failed:
    """The next result; a worker that died without one (killed, crashed) fails the run."""
    while True:
        try:
            return results.get(timeout=POLL_S)
        except queue.Empty:
            dead = [i for i, p in running.items() if not p.is_alive()]
            if not dead:
                continue
        try:  # a result written just before its worker exited is in the pipe already
            return results.get(timeout=POLL_S)
        except queue.Empty:
            index = dead[0]
            code = running[index].exitcode
            return _Failed(index, f"worker process died with exit code {code}")


def _worker(
    prepared: Prepared,
    inputs: ResearchInputs,
    index: int,
    results: multiprocessing.Queue[_Done | _Failed],
) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides how to stop
    try:
        results.put(_run_one(prepared, inputs, index))
    except Exception as exc:
        results.put(_Failed(index, failure_text(exc), isinstance(exc, DataError)))


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
    metrics = compute_metrics(
        equity,
        clock,
        result.trades,
        initial_cash=cash,
        bars_in_market=result.bars_in_market,
        symbols=len(fed.bars),
        risk_free_rate=inputs.risk_free_rate,
        basis=prepared.basis,
    )
    daily = period_returns(equity, clock, cash, prepared.basis)
    return _Done(index, metrics, clock, equity, daily, fed.info)
