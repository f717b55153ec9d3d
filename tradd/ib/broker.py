"""Backtrader's broker for live IB trading: strategy orders in, IB's answers out.

The broker only translates. A strategy's `buy`/`sell` (a bracket is three calls, the
last with `transmit=True`) becomes a batch of `OrderIntent`s handed to an `OrderSink`,
which applies the risk gate, persists and sends them (the worker's order manager). What
IB reports later comes back through `order_changed`, `order_filled` and `order_rejected`
and becomes Backtrader's order notifications and position updates, exactly as the
strategy sees them in a backtest (executions carry Backtrader's own P&L bookkeeping).

Cash and value are the IB account's (`set_account`); positions are the strategy's own,
rebuilt from its persisted fills at start. A symbol's commission info (`addcommissioninfo`
by name) carries its contract multiplier, so a future's value and P&L count it.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

import backtrader as bt

from tradd.ib.orders import Accepted, OrderIntent, Refused, intents_for
from tradd.ib.types import Execution, OrderUpdate

ACCEPTED = frozenset({"PreSubmitted", "Submitted"})
FILL_TOLERANCE = 1e-9
ORDER_KEYWORDS = ("price", "plimit", "exectype", "valid", "tradeid", "oco", "trailamount",
                  "trailpercent", "parent", "transmit")  # fmt: skip
"""What Backtrader's Strategy.buy/sell pass to the broker besides owner, data and size."""
CANCELLED = frozenset({"Cancelled", "ApiCancelled"})


class OrderSink(Protocol):
    def submit(self, intents: list[OrderIntent]) -> Accepted | Refused: ...
    def cancel(self, order_ref: str) -> bool: ...


class IBBroker(bt.BrokerBase):  # type: ignore[misc]
    def __init__(
        self,
        sink: OrderSink,
        comminfo: bt.CommInfoBase,
        owner: Callable[[], Any] = lambda: None,
    ) -> None:
        super().__init__()
        self._sink = sink
        self.comminfo = {None: comminfo}
        self.cash = 0.0
        self.value = 0.0
        self.startingcash = 0.0
        self.notifs: deque[bt.Order] = deque()
        self.live: dict[str, bt.Order] = {}
        """This process's orders still working at IB, by orderRef."""
        self._batch: list[tuple[bt.Order, Any]] = []
        self._positions: dict[str, bt.Position] = {}
        self._cancel_after: dict[str, OrderUpdate] = {}
        """Cancels IB reported with fills the strategy has not seen yet: applied after them."""
        self.owner = owner
        """The running strategy, None before it runs (flatten and operator entry orders
        are shown to it as its own)."""
        self._datas: dict[str, Any] = {}

    # -- set-up and account -------------------------------------------------------------------
    def init(self) -> None:
        """Backtrader calls this from __init__ and start; our comminfo is set already."""

    def register(self, data: Any, quantity: float = 0.0, price: float = 0.0) -> None:
        """A strategy symbol, and its position rebuilt from the ledger."""
        self._datas[data.symbol] = data
        self._positions[data.symbol] = bt.Position(quantity, price)

    def set_account(self, cash: float, value: float) -> None:
        if not self.value:
            self.startingcash = value  # Backtrader reports it when the strategy stops
        self.cash, self.value = cash, value

    def getcash(self) -> float:
        return self.cash

    def getvalue(self, datas: Any = None) -> float:
        if not datas:
            return self.value
        return float(sum(self._positions[d.symbol].size * d.close[0]
                         * self.getcommissioninfo(d).p.mult for d in datas))  # fmt: skip

    def getposition(self, data: Any, clone: bool = True) -> bt.Position:
        position = self._positions[data.symbol]
        return position.clone() if clone else position

    def get_notification(self) -> bt.Order | None:
        return self.notifs.popleft() if self.notifs else None

    def next(self) -> None:
        """Nothing happens between bars: IB's events arrive through the worker's pump."""

    # -- strategy side -------------------------------------------------------------------------
    def buy(self, owner: Any, data: Any, size: float, **params: Any) -> bt.Order:
        return self._create(bt.BuyOrder, owner, data, size, params)

    def sell(self, owner: Any, data: Any, size: float, **params: Any) -> bt.Order:
        return self._create(bt.SellOrder, owner, data, size, params)

    def _create(
        self, kind: type[bt.Order], owner: Any, data: Any, size: float, params: dict[str, Any]
    ) -> bt.Order:
        """A Backtrader order from Strategy.buy/sell's keywords (price, plimit, exectype,
        valid, parent, transmit...); unknown keywords go into `order.info`."""
        known = {k: params.pop(k) for k in ORDER_KEYWORDS if k in params}
        if "plimit" in known:
            known["pricelimit"] = known.pop("plimit")
        order = kind(owner=owner, data=data, size=size, **known)
        return self._take(order, known.get("valid"), params)

    def cancel(self, order: bt.Order) -> bool:
        ref = order.info.get("order_ref")
        return isinstance(ref, str) and ref in self.live and self._sink.cancel(ref)

    def _take(self, order: bt.Order, valid: Any, extra: dict[str, Any]) -> bt.Order:
        order.addinfo(**extra)
        order.addcomminfo(self.getcommissioninfo(order.data))
        self._batch.append((order, valid))
        if order.transmit:
            batch, self._batch = self._batch, []
            self._send(batch)
        return order

    def _send(self, batch: list[tuple[bt.Order, Any]]) -> None:
        orders = [o for o, _ in batch]
        intents = intents_for(batch)
        result = intents if isinstance(intents, Refused) else self._sink.submit(intents)
        if isinstance(result, Refused):
            for order in orders:
                self._reject(order, result.reason)
            return
        for order, ref in zip(orders, result.refs, strict=True):
            if result.quantity < abs(orders[0].size):
                _resize(order, result.quantity)
            order.addinfo(order_ref=ref)
            order.submit(self)
            self.live[ref] = order
            self.notifs.append(order.clone())

    # -- IB side (called by the worker's order manager) ----------------------------------------
    def order_changed(self, update: OrderUpdate) -> None:
        order = self.live.get(update.order_ref)
        if order is None:
            return
        if update.status in ACCEPTED and order.status == bt.Order.Submitted:
            order.accept(self)
        elif update.status in CANCELLED and order.alive():
            if update.filled > abs(order.executed.size) + FILL_TOLERANCE:
                self._cancel_after[update.order_ref] = update  # its fills come first
                return
            order.addinfo(reason=update.message)
            order.cancel()
        elif update.status == "Inactive" and order.alive():
            self._reject(order, update.message or "inactive at IB")
            return
        else:
            return
        self.notifs.append(order.clone())
        if not order.alive():
            del self.live[update.order_ref]

    def order_rejected(self, order_ref: str, reason: str, *, margin: bool = False) -> None:
        order = self.live.pop(order_ref, None)
        if order is not None and order.alive():
            if margin:
                order.addinfo(reject_reason=reason)
                order.margin()
                self.notifs.append(order.clone())
            else:
                self._reject(order, reason)

    def order_filled(self, execution: Execution, commission: float) -> None:
        """Book one execution: the strategy's position, and its order if it is ours."""
        position = self._positions.get(execution.symbol)
        if position is None:
            return
        size = execution.quantity if execution.side == "BUY" else -execution.quantity
        price = execution.price
        comminfo = self.getcommissioninfo(self._datas[execution.symbol])
        before = position.price
        psize, pprice, opened, closed = position.update(size, price)
        order = self.live.get(execution.order_ref)
        if order is None or not order.alive():
            return
        closed_comm = commission * closed / size
        order.execute(
            bt.date2num(execution.time.astimezone(dt.UTC).replace(tzinfo=None)),
            size,
            price,
            closed,
            comminfo.getoperationcost(closed, before),
            closed_comm,
            opened,
            comminfo.getoperationcost(opened, price),
            commission - closed_comm,
            0.0,
            comminfo.profitandloss(-closed, before, price),
            psize,
            pprice,
        )
        if order.executed.remsize:
            order.partial()
        else:
            order.completed()
            del self.live[execution.order_ref]
        self.notifs.append(order.clone())
        cancel = self._cancel_after.get(execution.order_ref)
        if cancel is not None and abs(order.executed.size) + FILL_TOLERANCE >= cancel.filled:
            del self._cancel_after[execution.order_ref]
            self.order_changed(cancel)

    def track_system_order(self, order_ref: str, intent: OrderIntent, why: str) -> None:
        """Show a flatten or risk close to the strategy as an order of its own, so its
        trades (and their P&L) close as they would in a backtest."""
        owner = self.owner()
        data = self._datas.get(intent.symbol)
        if owner is None or data is None or not len(data):
            return  # nothing traded yet: the position alone changes
        kind = bt.BuyOrder if intent.side == "BUY" else bt.SellOrder
        order = kind(owner=owner, data=data, size=intent.quantity, exectype=bt.Order.Market)
        order.addinfo(order_ref=order_ref, system=why)
        order.addcomminfo(self.getcommissioninfo(data))
        order.submit(self)
        self.live[order_ref] = order
        self.notifs.append(order.clone())

    def _reject(self, order: bt.Order, reason: str) -> None:
        order.addinfo(reject_reason=reason)
        order.reject(self)
        self.notifs.append(order.clone())


def _resize(order: bt.Order, quantity: float) -> None:
    signed = quantity if order.isbuy() else -quantity
    order.size = signed
    order.created.size = signed
    order.executed.remsize = signed
