"""The strategy's orders that are not settled yet, kept in memory for decisions on the spot.

An order is settled once IB reports it finished *and* the book holds every fill IB
counted for it. The two arrive separately (IB sends `orderStatus Filled` before the
execution it reports), so a flatten that looked only at statuses would close a position
the book had not seen grow yet, and reverse it. The risk gate also sees what working
orders will do: a second exit while the first still works is not "reducing".
"""

from __future__ import annotations

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

    def add(self, ref: str, symbol: str, side: str, quantity: float, child: bool) -> None:
        sign = 1 if side == "BUY" else -1
        self._orders[ref] = WorkingOrder(symbol, sign, quantity, child)

    def update(self, ref: str, update: OrderUpdate) -> None:
        """IB's latest word on the order (adopts orders sent before a restart)."""
        order = self._orders.get(ref)
        if order is None:
            if update.status in TERMINAL_STATUSES:
                return  # settled already (a late repeat), or finished while nobody watched
            order = WorkingOrder(update.symbol, 1 if update.action == "BUY" else -1,
                                 update.remaining, update.parent_id > 0)  # fmt: skip
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
        if self._orders[ref].settled:
            del self._orders[ref]

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
