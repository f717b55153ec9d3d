"""Flatten: cancel every working order of the strategy, close every position, confirm.

A small state machine advanced on every event and tick of the worker's loop, since the
fills that confirm it arrive through that same loop. The strategy is HALTED first (it
may not trade against the flatten) and stays halted until an operator resumes it.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import structlog

from tradd.persistence.models import OrderStatus
from tradd.worker.orders import OrderManager

log = structlog.get_logger("tradd.worker.flatten")
FLAT = 1e-9


@dataclass
class FlattenJob:
    manager: OrderManager
    requested_by: str
    deadline: float
    """Monotonic time after which the job reports failure."""
    reply: Future[dict[str, Any]] | None = None
    before: dict[str, float] = field(default_factory=dict)
    cancelled: set[str] = field(default_factory=set)
    close_refs: list[str] = field(default_factory=list)
    closing: bool = False
    done: bool = False

    def start(self) -> None:
        self.before = {s: p.quantity for s, p in self.manager.book.positions().items()}
        log.warning("flatten started", requested_by=self.requested_by, positions=self.before)

    def step(self, now: float, usable: bool) -> bool:
        """Advance; True once finished (flat, or timed out)."""
        if self.done:
            return True
        working = self._working()
        if usable:
            for ref in working - self.cancelled:
                if self.manager.cancel(ref):
                    self.cancelled.add(ref)
        if not working and not self.closing and usable:
            self.closing = True
            self.close_refs = self.manager.close_positions(list(self._open()), "flatten")
        if self.closing and not self._open() and not self._working():
            return self._finish(True, "flat")
        if now >= self.deadline:
            return self._finish(False, "timed out before the strategy was confirmed flat")
        return False

    def _working(self) -> set[str]:
        """Sent orders still working (a `Created` one was never sent: nothing to cancel)."""
        return {
            ref
            for ref, status in self.manager.working_statuses().items()
            if status != OrderStatus.CREATED and ref not in self.close_refs
        }

    def _open(self) -> dict[str, float]:
        return {
            s: p.quantity
            for s, p in self.manager.book.positions().items()
            if abs(p.quantity) > FLAT
        }

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
            symbol: {
                "before": qty,
                "after": after.get(symbol, 0.0),
                "result": "flat" if symbol not in after else "not flat",
            }
            for symbol, qty in (self.before | after).items()
        }
        return {
            "ok": ok,
            "message": message,
            "requested_by": self.requested_by,
            "symbols": symbols,
            "cancelled": sorted(self.cancelled),
            "orders": list(self.close_refs),
        }


def flatten_job(
    manager: OrderManager,
    requested_by: str,
    timeout: float,
    monotonic: Callable[[], float],
    reply: Future[dict[str, Any]] | None = None,
) -> FlattenJob:
    job = FlattenJob(manager, requested_by, monotonic() + timeout, reply)
    job.start()
    return job
