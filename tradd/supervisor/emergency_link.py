"""The supervisor's own IB connection for an emergency, and what it hears about orders.

An emergency flatten runs while the worker that normally talks to IB is dead, so it
needs its own link, bounded by one deadline from start to finish (connecting included:
IB may still hold the dead worker's socket and answer 326 "client id in use" for a
moment; the link's reconnect loop retries). `OrderTracker` drains the link's event queue
the way a worker's loop does: IB's order states, executions and commission reports of
the orders it watches, persisted into a strategy's ledger when it has one.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import structlog

from tradd.config.live import BrokerSettings
from tradd.errors import TemporaryError
from tradd.ib.codes import is_cancel_ack, is_notice
from tradd.ib.events import CommissionReceived, ExecutionReceived, OrderChanged
from tradd.ib.link import IBLink
from tradd.ib.types import BrokerPosition, Commission, Execution, OrderUpdate
from tradd.marketdata.contracts import ContractDefinitions
from tradd.persistence.ledger import Ledger
from tradd.persistence.models import OrderStatus
from tradd.persistence.records import FillRecord

log = structlog.get_logger("tradd.supervisor.emergency")
QUANTITY_TOLERANCE = 1e-6
POLL = 0.2
"""Longest wait on the event queue before a condition that needs a request is re-checked."""


class EmergencyFailure(Exception):
    """Ends an emergency run early; the message is what the result reports."""


class Deadline:
    """One time budget for a whole emergency run, on an injectable monotonic clock."""

    def __init__(self, timeout: float, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.timeout, self._monotonic = timeout, monotonic
        self.end = monotonic() + timeout

    def left(self) -> float:
        return max(self.end - self._monotonic(), 0.0)

    def sooner(self, seconds: float) -> Deadline:
        """This deadline, or `seconds` from now if that comes first."""
        sooner = Deadline(seconds, self._monotonic)
        sooner.end, sooner.timeout = min(sooner.end, self.end), min(seconds, self.timeout)
        return sooner

    @property
    def expired(self) -> bool:
        return self.left() <= 0.0


@contextmanager
def emergency_link(
    settings: BrokerSettings,
    client_id: int,
    deadline: Deadline,
    monotonic: Callable[[], float] = time.monotonic,
    definitions: ContractDefinitions | None = None,
) -> Iterator[IBLink]:
    """A connected link without market data; EmergencyFailure if none within the deadline.

    The link is always stopped on the way out, even when stopping fails (the gateway is
    gone anyway).
    """
    link = IBLink(settings, client_id, symbols=(), monotonic=monotonic, definitions=definitions)
    try:
        link.start()
        if not link.wait_connected(deadline.left()):
            raise EmergencyFailure(
                f"could not connect to IB at {settings.host}:{settings.port} as clientId "
                f"{client_id} within {deadline.timeout:g}s ({link.manager.reason})"
            )
        log.warning("emergency link connected", client_id=client_id)
        yield link
    finally:
        try:
            link.stop()
        except TemporaryError as exc:
            log.warning("emergency link did not stop cleanly", error=str(exc))


def account_positions(link: IBLink) -> dict[str, float]:
    """Net position per symbol of the link's account (the one orders are placed in)."""
    return _by_symbol(link.positions(), link.client.account)


def _by_symbol(positions: Iterable[BrokerPosition], account: str) -> dict[str, float]:
    held: dict[str, float] = {}
    for p in positions:
        if not account or not p.account or p.account == account:
            held[p.symbol] = held.get(p.symbol, 0.0) + p.quantity
    return held


class OrderTracker:
    """IB's word on the orders whose orderRef starts with `prefix`.

    Terminal states stick: an event drained after a fresher snapshot cannot reopen an
    order. With a `ledger`, every state, execution and commission is persisted exactly
    as the strategy's worker would have (executions deduplicated by exec id), so the
    worker restarted afterwards finds nothing it cannot explain. `booked` seeds the
    executions already in the ledger.
    """

    def __init__(
        self,
        link: IBLink,
        prefix: str,
        ledger: Ledger | None = None,
        booked: Iterable[FillRecord] = (),
    ) -> None:
        self.link, self.prefix, self.ledger = link, prefix, ledger
        self.orders: dict[str, OrderUpdate] = {}
        self.executions: dict[str, tuple[str, float]] = {
            f.exec_id: (f.order_ref or "", f.quantity) for f in booked
        }
        self.new_fills: list[str] = []
        """Exec ids this run booked into the ledger (missed by the dead worker, or ours)."""
        self.commissions: set[str] = set()
        self._acknowledged: set[str] = set()

    def ours(self, order_ref: str) -> bool:
        return order_ref.startswith(self.prefix)

    # -- events -----------------------------------------------------------------------------
    def on_order(self, update: OrderUpdate) -> None:
        ref, code = update.order_ref, update.error_code
        if not self.ours(ref):
            return
        if update.status in ("Cancelled", "Inactive") and is_notice(code):
            return  # the library's guess: the order is still working at IB
        current = self.orders.get(ref)
        if current is not None and current.done and not update.done:
            return
        if update.status in ("PreSubmitted", "Submitted", "Filled", "PendingCancel"):
            self._acknowledged.add(ref)
        self.orders[ref] = update
        if self.ledger is not None:
            self._persist(update)

    def _persist(self, update: OrderUpdate) -> None:
        """As the worker records it: an error that ends an order IB never acknowledged is
        a rejection, not a cancel."""
        assert self.ledger is not None
        status, code = update.status, update.error_code
        ended = status in ("Cancelled", "Inactive") and code and not is_cancel_ack(code)
        if ended and update.order_ref not in self._acknowledged:
            status = OrderStatus.REJECTED
        self.ledger.update_order(
            update.order_ref, status=status, filled=update.filled, remaining=update.remaining,
            avg_fill_price=update.avg_fill_price or None, ib_order_id=update.ib_order_id or None,
            perm_id=update.perm_id or None, message=update.message or None,
        )  # fmt: skip

    def on_execution(self, execution: Execution, commission: Commission | None = None) -> None:
        if not self.ours(execution.order_ref):
            return
        if execution.exec_id not in self.executions:
            self.executions[execution.exec_id] = (execution.order_ref, execution.quantity)
            if self.ledger is not None and self.ledger.add_fill(fill_record(execution)):
                self.new_fills.append(execution.exec_id)
                log.warning("emergency: fill booked", order_ref=execution.order_ref,
                            symbol=execution.symbol, side=execution.side,
                            quantity=execution.quantity, exec_id=execution.exec_id)  # fmt: skip
        if commission is not None:
            self.on_commission(commission)

    def on_commission(self, commission: Commission) -> None:
        """Attach it to the fill (a no-op for a fill that is not this strategy's)."""
        if self.ledger is not None and commission.exec_id in self.executions:
            self.ledger.set_commission(
                commission.exec_id, commission.commission, commission.realized_pnl
            )
            self.commissions.add(commission.exec_id)

    def handle(self, event: object) -> None:
        if isinstance(event, OrderChanged):
            self.on_order(event.update)
        elif isinstance(event, ExecutionReceived):
            self.on_execution(event.execution)
        elif isinstance(event, CommissionReceived):
            self.on_commission(event.commission)

    # -- waiting ----------------------------------------------------------------------------
    def drain(self, seconds: float) -> None:
        """Wait up to `seconds` for an event, then handle every event already queued."""
        inbox = self.link.inbox
        try:
            self.handle(inbox.get(timeout=max(seconds, 0.001)))
            while True:
                self.handle(inbox.get_nowait())
        except queue.Empty:
            return

    def wait(self, done: Callable[[], bool], deadline: Deadline) -> bool:
        """Handle events until `done()`; False once the deadline passed first."""
        while not done():
            left = deadline.left()
            if left <= 0:
                return False
            self.drain(min(left, POLL))
        return True

    # -- what is known ----------------------------------------------------------------------
    def settled(self, refs: Iterable[str]) -> bool:
        """Every one finished at IB with all its executions received."""
        return all(self._settled(ref) for ref in refs)

    def _settled(self, ref: str) -> bool:
        update = self.orders.get(ref)
        if update is None or not update.done:
            return False
        got = sum(q for r, q in self.executions.values() if r == ref)
        return got >= update.filled - QUANTITY_TOLERANCE

    def unsettled(self, refs: Iterable[str]) -> list[str]:
        return [ref for ref in refs if not self._settled(ref)]

    def commissions_in(self) -> bool:
        """Every fill this run booked has its commission (the worker's books carry them)."""
        return all(exec_id in self.commissions for exec_id in self.new_fills)

    def working(self) -> list[OrderUpdate]:
        return [u for u in self.orders.values() if not u.done]


def fill_record(e: Execution) -> FillRecord:
    """An execution as the ledger stores it (its commission follows separately)."""
    return FillRecord(
        e.exec_id, e.order_ref, e.symbol, e.side, e.quantity, e.price, e.time,
        e.ib_order_id or None, e.perm_id or None, e.account or None,
    )  # fmt: skip


def outcome(
    ok: bool,
    message: str,
    requested_by: str,
    path: str,
    symbols: dict[str, dict[str, Any]],
    cancelled: list[str],
    orders: list[str],
) -> dict[str, Any]:
    """The reply of every flatten path: the worker's shape plus where it was done."""
    return {"ok": ok, "message": message, "requested_by": requested_by, "path": path,
            "symbols": symbols, "cancelled": sorted(cancelled), "orders": list(orders)}  # fmt: skip
