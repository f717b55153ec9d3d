"""The scan in the research pool (`tradd.research.pool`): one symbol per unit.

Workers are forked after the plan is built. A unit loads its symbol's bars once and
backtests every strategy on them, sending each row as soon as it is done (so progress
moves per backtest). A symbol without usable data gives one failed row per strategy, with
the store's message. A unit whose worker dies (killed, out of memory) fails the rows it
had not sent, with the reason; the pool replaces the worker and the scan goes on.
Ctrl-C is the pool's (the first stops after the current backtests, the second kills the
workers); either way it is re-raised here: nothing half-done is kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial

from tradd.errors import TraddError
from tradd.marketdata.bars import Bars
from tradd.research.basis import basis_for, calendars_for
from tradd.research.costs import costs_for
from tradd.research.pool import Cause, Done, Ending, Event, ForkPool, Note, Reporter
from tradd.research.scan.plan import ScanPlan
from tradd.research.scan.rows import ScanRow, backtest_row
from tradd.research.setup import load_with_history


def symbol_rows(plan: ScanPlan, symbol: str) -> Iterator[ScanRow]:
    """Each strategy on one symbol, in the plan's strategy order."""
    period = plan.period
    try:
        bars = _history(plan, symbol)
    except TraddError as exc:
        for path, _ in plan.strategies:
            yield ScanRow(symbol, path, error=str(exc))
        return
    basis = basis_for(plan.bar, calendars_for([symbol], plan.definitions))
    costs = costs_for([symbol], plan.broker.rates, plan.definitions)
    for path, strategy in plan.strategies:
        yield backtest_row(
            symbol, path, strategy, bars, plan.broker, plan.risk_free_rate, basis,
            period.start, costs,
        )  # fmt: skip


def _history(plan: ScanPlan, symbol: str) -> Bars:
    """The symbol's bars up to the period's end from the first on file: the warm-up comes
    from the bars before the start."""
    period = plan.period
    return load_with_history(plan.store, symbol, plan.bar, period.start, period.end)[0]


def _symbol_unit(plan: ScanPlan, symbol: str, reporter: Reporter) -> None:
    for row in symbol_rows(plan, symbol):
        reporter.note(row)
        if reporter.stopping():
            return


def run_pool(
    plan: ScanPlan,
    workers: int,
    on_row: Callable[[ScanRow], None],
    on_notice: Callable[[str], None] = lambda _: None,
) -> None:
    """Every (symbol, strategy) of the plan, each row passed to `on_row` as it arrives;
    KeyboardInterrupt if Ctrl-C stopped it."""
    count = max(1, min(workers, len(plan.symbols)))
    pool: ForkPool[str, None] = ForkPool(
        lambda _slot: partial(_symbol_unit, plan), count, noun="backtests", notice=on_notice
    )
    sent: dict[str, set[str]] = {symbol: set() for symbol in plan.symbols}

    def sink(event: Event[None]) -> None:
        if isinstance(event, Note):
            row: ScanRow = event.payload
            sent[row.symbol].add(row.strategy)
            on_row(row)
        elif not isinstance(event, Done) and event.cause is not Cause.ABORTED:
            symbol = plan.symbols[event.index]
            for path, _ in plan.strategies:
                if path not in sent[symbol]:
                    sent[symbol].add(path)
                    on_row(ScanRow(symbol, path, error=event.reason))

    if pool.run(plan.symbols, sink) is not Ending.FINISHED:
        raise KeyboardInterrupt
