"""The scan's worker processes: forked after the plan is built, one symbol at a time.

A worker takes a symbol, loads its bars once and backtests every strategy on them,
sending each row back as soon as it is done (so progress moves per backtest). A symbol
without usable data gives one failed row per strategy, with the store's message. A
worker that dies (killed, out of memory) fails the rows it had not sent; the others go
on. Ctrl-C in the parent kills the workers and is re-raised: nothing half-done is kept.
"""

from __future__ import annotations

import multiprocessing
import queue
import signal
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from tradd.errors import TraddError
from tradd.marketdata.bars import Bars
from tradd.research.basis import basis_for, calendars_for
from tradd.research.costs import costs_for
from tradd.research.scan.plan import ScanPlan
from tradd.research.scan.rows import ScanRow, backtest_row
from tradd.research.setup import load_with_history

POLL_S = 0.5


@dataclass(frozen=True)
class Taken:
    worker: int
    symbol: str


@dataclass(frozen=True)
class Finished:
    worker: int


Message = Taken | Finished | ScanRow


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


def _worker_main(
    plan: ScanPlan,
    index: int,
    tasks: multiprocessing.Queue[str | None],
    results: multiprocessing.Queue[Message],
) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides how to stop
    try:
        while (symbol := tasks.get()) is not None:
            results.put(Taken(index, symbol))
            for row in symbol_rows(plan, symbol):
                results.put(row)
    finally:
        results.put(Finished(index))


def run_pool(plan: ScanPlan, workers: int, on_row: Callable[[ScanRow], None]) -> None:
    """Every (symbol, strategy) of the plan, each row passed to `on_row` as it arrives."""
    context = multiprocessing.get_context("fork")
    tasks: multiprocessing.Queue[str | None] = context.Queue()
    results: multiprocessing.Queue[Message] = context.Queue()
    count = max(1, min(workers, len(plan.symbols)))
    for symbol in plan.symbols:
        tasks.put(symbol)
    for _ in range(count):
        tasks.put(None)
    processes = [
        context.Process(target=_worker_main, args=(plan, i, tasks, results), daemon=True)
        for i in range(count)
    ]
    for process in processes:
        process.start()
    tracker = _Tracker(plan, on_row)
    try:
        while len(tracker.finished) < count:
            try:
                tracker.handle(results.get(timeout=POLL_S))
            except queue.Empty:
                tracker.reap(processes)
        tracker.fail_untaken()
    except BaseException:
        for process in processes:
            process.kill()
        raise
    finally:
        for process in processes:
            process.join(timeout=10)


class _Tracker:
    """Which worker has which symbol, and which of its rows arrived."""

    def __init__(self, plan: ScanPlan, on_row: Callable[[ScanRow], None]) -> None:
        self.plan, self.on_row = plan, on_row
        self.current: dict[int, str] = {}
        self.sent: dict[str, set[str]] = {}
        self.finished: set[int] = set()

    def handle(self, message: Message) -> None:
        if isinstance(message, Taken):
            self.current[message.worker] = message.symbol
            self.sent[message.symbol] = set()
        elif isinstance(message, Finished):
            self.finished.add(message.worker)
            self.current.pop(message.worker, None)
        else:
            sent = self.sent.setdefault(message.symbol, set())
            if message.strategy not in sent:  # not already failed as lost with its worker
                sent.add(message.strategy)
                self.on_row(message)

    def fail_untaken(self) -> None:
        """Symbols no worker took (every worker died): failed rows, never missing ones."""
        for symbol in self.plan.symbols:
            if symbol not in self.sent:
                self.sent[symbol] = set()
                self._fail_missing(symbol, "not scanned: every worker process died")

    def reap(self, processes: Sequence[multiprocessing.process.BaseProcess]) -> None:
        for index, process in enumerate(processes):
            if index in self.finished or process.is_alive():
                continue
            self._drain_then_fail(index, process.exitcode)

    def _drain_then_fail(self, index: int, exitcode: int | None) -> None:
        self.finished.add(index)
        symbol = self.current.pop(index, None)
        if symbol is not None:
            self._fail_missing(symbol, f"worker process died (exit code {exitcode})")

    def _fail_missing(self, symbol: str, error: str) -> None:
        for path, _ in self.plan.strategies:
            if path not in self.sent[symbol]:
                self.sent[symbol].add(path)
                self.on_row(ScanRow(symbol, path, error=error))
