"""Backtrader orders as plain intents, and intents as IB order specs.

What Backtrader can express and IB (and `tradd simgw`) carry out: market, limit, stop and
stop-limit orders, day or good-till-cancelled, and brackets (Backtrader's `buy_bracket`
sends parent and children with `transmit=False` on all but the last, exactly IB's
convention). The rest (trailing stops, market-on-close, good-till-date, Backtrader's
client-side OCO) is refused with a reason instead of being approximated.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import backtrader as bt

from tradd.ib.types import OrderSpec, OrderType, Side

ORDER_TYPES: dict[int, OrderType] = {
    bt.Order.Market: "MKT",
    bt.Order.Limit: "LMT",
    bt.Order.Stop: "STP",
    bt.Order.StopLimit: "STP LMT",
}


@dataclass(frozen=True)
class Accepted:
    refs: list[str]
    quantity: float
    """Approved quantity of the batch's first order (the parent): smaller when resized."""


@dataclass(frozen=True)
class Refused:
    reason: str


@dataclass(frozen=True)
class OrderIntent:
    """One order as the strategy asked for it, before risk checks and persistence."""

    symbol: str
    side: Side
    quantity: float
    order_type: OrderType
    limit_price: float | None
    stop_price: float | None
    tif: str
    reference_price: float
    """Price used to value the order (risk): its limit or stop, else the last close."""
    parent_index: int | None = None


def intents_for(batch: list[tuple[Any, Any]]) -> list[OrderIntent] | Refused:
    """Map a transmitted batch (one order, or a bracket's parent and children)."""
    intents: list[OrderIntent] = []
    orders = [o for o, _ in batch]
    for order, valid in batch:
        problem = _unsupported(order, valid)
        if problem:
            return Refused(problem)
        parent_index = None
        if order.parent is not None:
            if order.parent not in orders:
                return Refused("a bracket child must be sent together with its parent")
            parent_index = orders.index(order.parent)
        intents.append(_intent(order, valid, parent_index))
    return intents


def _unsupported(order: Any, valid: Any) -> str:
    if order.exectype not in ORDER_TYPES:
        return (
            f"order type {order.getordername()} is not supported live (use market, limit, "
            "stop or stop-limit)"
        )
    if order.oco is not None:
        return "Backtrader OCO orders are not supported live; use a bracket (buy_bracket)"
    if valid is not None and not _is_day(valid):
        return f"good-till-date orders (valid={valid!r}) are not supported live"
    if not order.size:
        return "order size is zero"
    return ""


def _is_day(valid: Any) -> bool:
    return bool((isinstance(valid, dt.timedelta) and valid == bt.Order.DAY) or valid == 0)


def _intent(order: Any, valid: Any, parent_index: int | None) -> OrderIntent:
    kind = ORDER_TYPES[order.exectype]
    limit = stop = None
    if kind == "LMT":
        limit = float(order.price)
    elif kind == "STP":
        stop = float(order.price)
    elif kind == "STP LMT":
        stop, limit = float(order.price), float(order.pricelimit)
    tif = "DAY" if kind == "MKT" or valid is not None else "GTC"
    reference = limit or stop or float(order.data.close[0])
    side: Side = "BUY" if order.isbuy() else "SELL"
    return OrderIntent(
        order.data.symbol,
        side,
        abs(float(order.size)),
        kind,
        limit,
        stop,
        tif,
        reference,
        parent_index,
    )


def order_specs(
    intents: list[OrderIntent], refs: list[str], quantity: float, account: str
) -> list[OrderSpec]:
    """IB orders for a batch: a bracket's legs all carry the (possibly resized) quantity,
    and only the last one transmits, so IB activates the bracket as a whole."""
    last = len(intents) - 1
    return [
        OrderSpec(
            refs[i],
            it.symbol,
            it.side,
            quantity,
            it.order_type,
            it.limit_price,
            it.stop_price,
            it.tif,
            it.parent_index,
            "",
            i == last,
            account,
        )
        for i, it in enumerate(intents)
    ]
