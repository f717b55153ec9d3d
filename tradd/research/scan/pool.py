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

from collections.abc import Callable, Collection, Iterator, Mapping
from functools import partial

from tradd.errors import TraddError
from tradd.marketdata.bars import Bars
from tradd.research.basis import basis_for, calendars_for
from tradd.research.costs import costs_for
from tradd.research.pool import Cause, Done, Ending, Event, ForkPool, Note, Reporter
from tradd.research.scan.plan import ScanPlan
from tradd.research.scan.rows import ScanRow, backtest_row
from tradd.research.setup import load_with_history


def symbol_rows(
    plan: ScanPlan, symbol: str, only: Collection[str] | None = None
) -> Iterator[ScanRow]:
    """Each strategy (of `only`, default all) on one symbol, in the plan's strategy order."""
    period = plan.period
    strategies = [(p, s) for p, s in plan.strategies if only is None or p in only]
    try:
        bars = load_history(plan, symbol)
    except TraddError as exc:
        for path, _ in strategies:
            yield ScanRow(symbol, path, error=str(exc))
        return
    basis = basis_for(plan.bar, calendars_for([symbol], plan.definitions))
    costs = costs_for([symbol], plan.broker.rates, plan.definitions)
    for path, strategy in strategies:
        yield backtest_row(
            symbol, path, strategy, bars, plan.broker, plan.risk_free_rate, basis,
            period.start, costs,
        )  # fmt: skip


def load_history(plan: ScanPlan, symbol: str) -> Bars:
    """The symbol's bars up to the period's end from the first on file: the warm-up comes
    from the bars before the start."""
    period = plan.period
    return load_with_history(plan.store, symbol, plan.bar, period.start, period.end)[0]


def _symbol_unit(
    plan: ScanPlan, todo: Mapping[str, tuple[str, ...]], symbol: str, reporter: Reporter
) -> None:
    for row in symbol_rows(plan, symbol, todo[symbol]):
        reporter.note(row)
        if reporter.stopping():
            return


def run_pool(
    plan: ScanPlan,
    workers: int,
    on_row: Callable[[ScanRow], None],
    on_notice: Callable[[str], None] = lambda _: None,
    todo: Mapping[str, tuple[str, ...]] | None = None,
) -> None:
    """Every (symbol, strategy) of the plan (or of `todo`: symbol -> the strategy paths to
    run, e.g. those not in the backtest cache), each row passed to `on_row` as it arrives;
    KeyboardInterrupt if Ctrl-C stopped it."""
    if todo is None:
        todo = {symbol: tuple(path for path, _ in plan.strategies) for symbol in plan.symbols}
    symbols = tuple(s for s in plan.symbols if todo.get(s))
    if not symbols:
        return
    count = max(1, min(workers, len(symbols)))
    pool: ForkPool[str, None] = ForkPool(
        lambda _slot: partial(_symbol_unit, plan, todo), count, noun="backtests",
        notice=on_notice,
    )  # fmt: skip
    sent: dict[str, set[str]] = {symbol: set() for symbol in symbols}

    def sink(event: Event[None]) -> None:
        if isinstance(event, Note):
            row: ScanRow = event.payload
            sent[row.symbol].add(row.strategy)
            on_row(row)
        elif not isinstance(event, Done) and event.cause is not Cause.ABORTED:
            symbol = symbols[event.index]
            for path in todo[symbol]:
                if path not in sent[symbol]:
                    sent[symbol].add(path)
                    on_row(ScanRow(symbol, path, error=event.reason))

    if pool.run(symbols, sink) is not Ending.FINISHED:
        raise KeyboardInterrupt
