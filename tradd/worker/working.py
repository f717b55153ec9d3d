"""The strategy's orders that are not settled yet, kept in memory for decisions on the spot.

An order is settled once IB reports it finished *and* the book holds every fill IB
counted for it. The two arrive separately (IB sends `orderStatus Filled` before the
execution it reports), so a flatten that looked only at statuses would close a position
the book had not seen grow yet, and reverse it. The risk gate also sees what working
orders will do: a second exit while the first still works is not "reducing".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tradd.ib.types import OrderUpdate
from tradd.persistence.models import TERMINAL_STATUSES

QUANTITY_TOLERANCE = 1e-9


@dataclass
class WorkingOrder:
    symbol: str
    sign: int
    """+1 buys, -1 sells."""
    remaining: float
    child: bool
    """A bracket's stop or target: a conditional exit, not counted as exposure."""
    terminal: bool = False
    reported_filled: float = 0.0
    booked: float = 0.0

    @property
    def settled(self) -> bool:
        return self.terminal and self.booked + QUANTITY_TOLERANCE >= self.reported_filled


class WorkingOrders:
    def __init__(self) -> None:
        self._orders: dict[str, WorkingOrder] = {}
        self._settled: dict[str, float] = {}
        """Orders settled in this process -> the quantity IB had reported filled: a later
        report that shows less is older than what settled them, not news."""

    def add(self, ref: str, symbol: str, side: str, quantity: float, child: bool) -> None:
        sign = 1 if side == "BUY" else -1
        self._orders[ref] = WorkingOrder(symbol, sign, quantity, child)

    def update(
        self, ref: str, update: OrderUpdate, booked: Callable[[], float] = lambda: 0.0
    ) -> None:
        """IB's latest word on the order (adopts orders sent before a restart, or reopened).

        `booked`: what the ledger already holds of an order adopted now. A reconciliation
        can settle an order from IB's fresh views while the live reports of its fill are
        still queued; the first of those (an `openOrder` with the status the library held
        then, before IB's `orderStatus Filled`) is stale. Adopted with nothing booked, the
        order waited for ever for a fill booked long ago, and a flatten with it."""
        order = self._orders.get(ref)
        if order is None:
            if update.status in TERMINAL_STATUSES:
                return  # settled already (a late repeat), or finished while nobody watched
            settled = self._settled.get(ref)
            if settled is not None and update.filled + QUANTITY_TOLERANCE < settled:
                return  # older than the reports that settled it
            sign = 1 if update.action == "BUY" else -1
            order = WorkingOrder(update.symbol, sign, update.remaining, update.parent_id > 0,
                                 booked=booked())  # fmt: skip
            self._orders[ref] = order
        order.remaining = update.remaining
        order.reported_filled = max(order.reported_filled, update.filled)
        order.terminal = update.status in TERMINAL_STATUSES
        self._drop_if_settled(ref)

    def finish(self, ref: str) -> None:
        """tradd itself closed the order (rejected, never sent, gone at IB)."""
        order = self._orders.get(ref)
        if order is not None:
            order.terminal, order.remaining = True, 0.0
            self._drop_if_settled(ref)

    def booked(self, ref: str, quantity: float) -> None:
        order = self._orders.get(ref)
        if order is not None:
            order.booked += quantity
            self._drop_if_settled(ref)

    def _drop_if_settled(self, ref: str) -> None:
        order = self._orders[ref]
        if order.settled:
            del self._orders[ref]
            self._settled.pop(ref, None)
            self._settled[ref] = order.reported_filled

    def trim(self, keep: int) -> None:
        """Remember only the newest `keep` settled orders (a worker must not grow)."""
        for ref in list(self._settled)[: max(len(self._settled) - keep, 0)]:
            del self._settled[ref]

    def describe(self, ref: str) -> str:
        """Why the order is not settled, for an operator."""
        o = self._orders.get(ref)
        if o is None:
            return f"{ref} (settled)"
        if not o.terminal:
            return f"{ref} ({o.symbol}: working at IB, {o.remaining:g} left)"
        return f"{ref} ({o.symbol}: IB reported {o.reported_filled:g} filled, {o.booked:g} booked)"

    # -- questions -----------------------------------------------------------------------
    def unsettled(self) -> list[str]:
        return list(self._orders)

    def working(self) -> list[str]:
        """Still working at IB (cancellable)."""
        return [ref for ref, order in self._orders.items() if not order.terminal]

    def exposure(self) -> dict[str, float]:
        """Signed quantity per symbol that working (non-bracket-child) orders would add."""
        out: dict[str, float] = {}
        for order in self._orders.values():
            if not order.terminal and not order.child:
                out[order.symbol] = out.get(order.symbol, 0.0) + order.sign * order.remaining
        return out

    def symbol_of(self, ref: str) -> str | None:
        order = self._orders.get(ref)
        return None if order is None else order.symbol

    def __contains__(self, ref: str) -> bool:
        return ref in self._orders
