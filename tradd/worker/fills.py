"""Fills and commissions: each execution stored and booked exactly once.

An execution is persisted (deduplicated by execId across every strategy and restart) and
applied to the position book at once, so positions are current for the next decision.
The strategy (Backtrader) is told when its commission report is in, or after
`commission_wait`, so its trade carries IB's real commission. Commission reports repeat
(every reqExecutions re-sends today's): each exec id's commission is counted once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

import structlog

from tradd.ib.types import Commission, Execution
from tradd.persistence.book import Book
from tradd.persistence.ledger import Ledger
from tradd.persistence.records import FillRecord
from tradd.worker.stats import WorkerStats
from tradd.worker.working import WorkingOrders

if TYPE_CHECKING:
    from tradd.ib.broker import IBBroker

log = structlog.get_logger("tradd.worker.fills")


class Fills:
    def __init__(
        self,
        ledger: Ledger,
        working: WorkingOrders,
        *,
        commission_wait: float,
        monotonic: Callable[[], float] = time.monotonic,
        stats: WorkerStats | None = None,
    ) -> None:
        self._ledger, self._working = ledger, working
        self._stats = stats or WorkerStats(monotonic)
        self._wait, self._monotonic = commission_wait, monotonic
        self.book: Book = ledger.book()
        self.broker: IBBroker | None = None
        self._pending: dict[str, tuple[Execution, float]] = {}
        """Booked, waiting for the commission before Backtrader is told (with a deadline)."""
        self._known: dict[str, tuple[str, float | None]] = {}
        """exec id -> (symbol, commission counted): executions this process has seen."""

    def on_execution(self, execution: Execution, commission: Commission | None = None) -> None:
        if execution.exec_id in self._known:
            return
        fill = _fill_record(execution, commission)
        if not self._ledger.add_fill(fill):  # stored before a restart, or a replay
            stored = self._ledger.fill(execution.exec_id)
            if stored is not None:
                self._known[execution.exec_id] = (stored.symbol, stored.commission)
            if commission is not None:
                self.on_commission(commission)
            return
        self.book.apply(replace(fill, commission=None))
        self._known[execution.exec_id] = (fill.symbol, None)
        self._working.booked(execution.order_ref, execution.quantity)
        self._stats.fill(fill.side)
        log.info("fill", order_ref=fill.order_ref, symbol=fill.symbol, side=fill.side,
                 quantity=fill.quantity, price=fill.price, exec_id=fill.exec_id)  # fmt: skip
        if commission is not None:
            self._count(execution.exec_id, commission.commission)
            self._tell_strategy(execution, commission.commission)
        else:
            self._pending[execution.exec_id] = (execution, self._monotonic() + self._wait)

    def on_commission(self, commission: Commission) -> None:
        exec_id = commission.exec_id
        if exec_id not in self._known:
            stored = self._ledger.fill(exec_id)  # ours from an earlier run?
            if stored is None:
                return  # another strategy's (or client's) fill
            self._known[exec_id] = (stored.symbol, stored.commission)
        if self._known[exec_id][1] != commission.commission:
            self._ledger.set_commission(exec_id, commission.commission, commission.realized_pnl)
            self._count(exec_id, commission.commission)
        pending = self._pending.pop(exec_id, None)
        if pending is not None:
            self._tell_strategy(pending[0], commission.commission)

    def expire_pending(self) -> float:
        """Tell the strategy of fills whose commission is overdue; seconds to the next."""
        now = self._monotonic()
        for exec_id, (execution, deadline) in list(self._pending.items()):
            if deadline <= now:
                del self._pending[exec_id]
                log.warning("fill reported without its commission report", exec_id=exec_id)
                self._tell_strategy(execution, 0.0)
        return min((d for _, d in self._pending.values()), default=now + 3600) - now

    def _count(self, exec_id: str, commission: float) -> None:
        """Add to the book what this commission report adds (once per exec id)."""
        symbol, counted = self._known[exec_id]
        self.book.add_commission(symbol, commission - (counted or 0.0))
        self._known[exec_id] = (symbol, commission)

    def _tell_strategy(self, execution: Execution, commission: float) -> None:
        if self.broker is not None:
            self.broker.order_filled(execution, commission)

    def trim(self, keep: int) -> None:
        for exec_id in list(self._known)[: max(len(self._known) - keep, 0)]:
            if exec_id not in self._pending:
                del self._known[exec_id]


def _fill_record(execution: Execution, commission: Commission | None) -> FillRecord:
    e, c = execution, commission
    return FillRecord(
        e.exec_id, e.order_ref, e.symbol, e.side, e.quantity, e.price, e.time,
        e.ib_order_id or None, e.perm_id or None, e.account or None,
        c.commission if c else None, c.realized_pnl if c else None,
    )  # fmt: skip
