"""Strategies for worker tests: they act on chosen live bars, so every test is exact.

`Scripted(script="1:BUY:10;3:SELL:10")` buys 10 shares of the first data on the first
live bar and sells them on the third. Actions: BUY/SELL (market), LIMIT_BUY/LIMIT_SELL
at the last close +/- an offset, STOP_SELL and STOPLIMIT_SELL below it, TRAIL_SELL (not
supported live: refused), BRACKET (market entry with stop and target at +/- offset),
CLOSE, CANCEL_ALL; BUY without a quantity is sized by the worker's sizer. `symbol`
picks the data (default: the first). Every order notification is recorded in `notes`
for in-process tests.
"""

from __future__ import annotations

from typing import Any

import backtrader as bt

from tradd.strategy import Strategy


def parse_script(script: str) -> dict[int, list[tuple[str, float, str]]]:
    plan: dict[int, list[tuple[str, float, str]]] = {}
    for step in filter(None, script.split(";")):
        parts = step.split(":")
        bar, action = int(parts[0]), parts[1]
        qty = float(parts[2]) if len(parts) > 2 and parts[2] else 0.0
        symbol = parts[3] if len(parts) > 3 else ""
        plan.setdefault(bar, []).append((action, qty, symbol))
    return plan


class Scripted(Strategy):
    params = (("script", ""), ("offset", 5.0))

    def __init__(self) -> None:
        super().__init__()
        self.plan = parse_script(self.p.script)
        self.live_bars = 0
        self.notes: list[tuple[str, str, float, str]] = []
        self.orders: list[Any] = []

    def next(self) -> None:
        self.live_bars += 1
        for action, qty, symbol in self.plan.get(self.live_bars, []):
            data = self.getdatabyname(symbol) if symbol else self.datas[0]
            self.act(action, qty, data)

    def act(self, action: str, qty: float, data: Any) -> None:
        price, off = data.close[0], self.p.offset
        if action == "BUY":
            self.orders.append(self.buy(data=data, size=qty or None))
        elif action == "SELL":
            self.orders.append(self.sell(data=data, size=qty))
        elif action == "LIMIT_BUY":
            self.orders.append(self.buy(data=data, size=qty, exectype=bt.Order.Limit,
                                        price=round(price - off, 2)))  # fmt: skip
        elif action == "LIMIT_SELL":
            self.orders.append(self.sell(data=data, size=qty, exectype=bt.Order.Limit,
                                         price=round(price + off, 2)))  # fmt: skip
        elif action == "BRACKET":
            self.orders.extend(self.buy_bracket(data=data, size=qty, exectype=bt.Order.Market,
                                                stopprice=round(price - off, 2),
                                                limitprice=round(price + off, 2)))  # fmt: skip
        elif action == "STOP_SELL":
            self.orders.append(self.sell(data=data, size=qty, exectype=bt.Order.Stop,
                                         price=round(price - off, 2)))  # fmt: skip
        elif action == "STOPLIMIT_SELL":
            self.orders.append(self.sell(data=data, size=qty, exectype=bt.Order.StopLimit,
                                         price=round(price - off, 2),
                                         plimit=round(price - 2 * off, 2)))  # fmt: skip
        elif action == "TRAIL_SELL":
            self.orders.append(self.sell(data=data, size=qty, exectype=bt.Order.StopTrail,
                                         trailamount=off))  # fmt: skip
        elif action == "CLOSE":
            self.orders.append(self.close(data=data))
        elif action == "CANCEL_ALL":
            for order in self.orders:
                if order is not None and order.alive():
                    self.cancel(order)

    def notify_order(self, order: Any) -> None:
        reason = order.info.get("reject_reason") or order.info.get("reason") or ""
        self.notes.append((order.info.get("order_ref", ""), order.getstatusname(),
                           float(order.executed.size), str(reason)))  # fmt: skip


class EveryBar(Strategy):
    """Alternately buys and sells `size` shares on every live bar (benchmarks)."""

    params = (("size", 1),)

    def __init__(self) -> None:
        super().__init__()
        self.flip = False

    def next(self) -> None:
        self.flip = not self.flip
        if self.flip:
            self.buy(size=self.p.size)
        else:
            self.sell(size=self.p.size)
