"""Prepare, run and analyse a comparison (everything but the report)."""

from __future__ import annotations

from tradd.marketdata.store import DataStore
from tradd.research.compare.analysis import Comparison, compare
from tradd.research.compare.runner import CompareRequest, prepare, run_all


def run_comparison(request: CompareRequest, store: DataStore) -> Comparison:
    prepared = prepare(request, store)
    runs = run_all(prepared, request.inputs, request.workers)
    return compare(
        runs,
        symbols=tuple(b.symbol for b in prepared.bars),
        bar=request.inputs.bar,
        initial_cash=request.inputs.broker.cash,
        risk_free_rate=request.inputs.risk_free_rate,
        basis=prepared.basis,
        settings=prepared.settings,
    )
