"""Flatten (and risk closes): cancel the working orders, close the positions, confirm.

A small state machine advanced on every event and tick of the worker's loop, since the
cancels and fills that finish it arrive through that same loop. It only sends closes
once every order of the symbols is settled (finished at IB *and* its fills booked), so a
fill in flight is never closed twice, and it goes round again until the book is flat,
topping up whatever a close left. A flatten HALTs the strategy first (the caller does);
a risk close leaves the state the gate set (REDUCING).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import structlog

from tradd.worker.orders import OrderManager

log = structlog.get_logger("tradd.worker.flatten")


@dataclass
class FlattenJob:
    manager: OrderManager
    requested_by: str
    deadline: float
    """Monotonic time after which the job reports failure."""
    symbols: tuple[str, ...] | None = None
    """Only these symbols (a risk close), or every position (None: a flatten)."""
    reply: Future[dict[str, Any]] | None = None
    before: dict[str, float] = field(default_factory=dict)
    cancelled: set[str] = field(default_factory=set)
    close_refs: list[str] = field(default_factory=list)
    done: bool = False
    waiting: str = ""
    """What keeps it from closing now ("" when nothing): logged on each change, and the
    reason a timed-out flatten gives, so it never waits silently."""

    def start(self) -> None:
        self.before = self._open()
        log.warning("flatten started", requested_by=self.requested_by, positions=self.before)

    def step(self, now: float, usable: bool) -> bool:
        """Advance; True once finished (flat, or timed out)."""
        if self.done:
            return True
        if usable:
            for ref in self._mine(self.manager.working.working()):
                skip = ref in self.cancelled or ref in self.close_refs
                if not skip and self.manager.cancel(ref):
                    self.cancelled.add(ref)
        unsettled = self._mine(self.manager.working.unsettled())
        if not unsettled:
            open_positions = self._open()
            if not open_positions:
                return self._finish(True, "flat")
            if usable:
                self.close_refs += self.manager.close_now(list(open_positions), self.why)
        self._wait_for(unsettled, usable)
        if now >= self.deadline:
            why = f": {self.waiting}" if self.waiting else ""
            return self._finish(False, f"timed out before the positions were confirmed flat{why}")
        return False

    def _wait_for(self, unsettled: list[str], usable: bool) -> None:
        """Note (and log, once per change) what the flatten is waiting for."""
        parts = []
        if not usable:
            parts.append("not connected to IB")
        if unsettled:
            orders = ", ".join(self.manager.working.describe(r) for r in unsettled)
            parts.append(f"waiting for orders to settle: {orders}")
        waiting = "; ".join(parts)
        if waiting and waiting != self.waiting:
            log.info("flatten waiting", requested_by=self.requested_by, waiting=waiting)
        self.waiting = waiting

    @property
    def why(self) -> str:
        return self.requested_by if self.symbols is not None else "flatten"

    def _mine(self, refs: list[str]) -> list[str]:
        if self.symbols is None:
            return refs
        return [r for r in refs if self.manager.working.symbol_of(r) in self.symbols]

    def _open(self) -> dict[str, float]:
        return {s: p.quantity for s, p in self.manager.book.positions().items()
                if self.symbols is None or s in self.symbols}  # fmt: skip

    def _finish(self, ok: bool, message: str) -> bool:
        self.done = True
        result = self.result(ok, message)
        log.warning("flatten finished", **result)
        if self.reply is not None and not self.reply.done():
            self.reply.set_result(result)
        return True

    def result(self, ok: bool, message: str) -> dict[str, Any]:
        after = self._open()
        symbols = {
            symbol: {"before": qty, "after": after.get(symbol, 0.0),
                     "result": "flat" if symbol not in after else "not flat"}
            for symbol, qty in (self.before | after).items()
        }  # fmt: skip
        return {"ok": ok, "message": message, "requested_by": self.requested_by,
                "symbols": symbols, "cancelled": sorted(self.cancelled),
                "orders": list(self.close_refs)}  # fmt: skip


def flatten_job(manager: OrderManager, requested_by: str, timeout: float,
                monotonic: Callable[[], float], reply: Future[dict[str, Any]] | None = None,
                symbols: tuple[str, ...] | None = None) -> FlattenJob:  # fmt: skip
    job = FlattenJob(manager, requested_by, monotonic() + timeout, symbols, reply)
    job.start()
    return job
