"""Prepare, run and analyse a comparison (everything but the report)."""

from __future__ import annotations

from collections.abc import Callable

from tradd.marketdata.store import DataStore
from tradd.research.compare.analysis import Comparison, compare
from tradd.research.compare.runner import CompareProgress, CompareRequest, prepare, run_all


def run_comparison(
    request: CompareRequest,
    store: DataStore,
    notice: Callable[[str], None] = lambda _: None,
    progress: CompareProgress | None = None,
) -> Comparison:
    """`notice`: what the user is told while it runs (how the first Ctrl-C stops it);
    `progress`: the backtests to run once the strategies loaded, and each as it ends."""
    prepared = prepare(request, store)
    runs = run_all(prepared, request.inputs, request.workers, notice, progress)
    return compare(
        runs,
        symbols=tuple(b.symbol for b in prepared.bars),
        bar=request.inputs.bar,
        initial_cash=request.inputs.broker.cash,
        risk_free_rate=request.inputs.risk_free_rate,
        basis=prepared.basis,
        settings=prepared.settings,
    )
