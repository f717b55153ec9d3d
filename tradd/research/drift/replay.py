"""Replay a live strategy over the bars it read, the way its backtest would trade them.

The strategy class, its resolved parameters, symbols, sizing and commission rates are
those the worker recorded when it started (`live_sessions`); the bars are those it read
(`live_bars`). Warm-up bars (before the first live bar) run through the indicators
without `next()`, as live. Bars the worker only received as history after an outage are
traded here: the replay is what the strategy would have done had it been online.

Fills. A live market order goes out the moment its bar closes and fills at the touch
(the ask for a buy, the bid for a sell). Backtrader's default fills it at the next bar's
open instead, a price no live order ever gets. The replay broker fills a market order at
the close of the bar that decided it, one `min_tick` (the half-spread the simulator
quotes, and the narrowest IB can) worse: on the simulator without slippage this is the
live price exactly. Limit and stop orders keep Backtrader's bar matching.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import backtrader as bt

from tradd.bt import IBCommission, PortfolioPercentSizer
from tradd.ib.feed import LiveFeed
from tradd.ib.types import Bar
from tradd.research.broker import RecordingBroker


@dataclass(frozen=True)
class ReplayBar:
    """A bar as the replay feeds it; `warmup`: indicators only, no `next()`."""

    bar: Bar
    warmup: bool


@dataclass(frozen=True)
class ReplayOrder:
    """An order the replayed strategy placed, and what became of it."""

    bar_start: datetime
    """Start (aware UTC) of the bar whose `next()` placed it."""
    symbol: str
    side: str
    quantity: float
    status: str
    filled: float
    price: float | None
    commission: float


@dataclass(frozen=True)
class ReplaySetup:
    strategy: type[bt.Strategy]
    params: Mapping[str, Any]
    position_pct: float
    commission: Mapping[str, float]
    cash: float
    half_spread: Mapping[str, float]
    zones: Mapping[str, str]
    multipliers: Mapping[str, float]


@dataclass(frozen=True)
class ReplayResult:
    orders: tuple[ReplayOrder, ...]
    equity: tuple[tuple[datetime, float], ...]
    """Portfolio value after each bar the strategy traded on (aware UTC)."""


class ReplayFeed(LiveFeed):
    """The live feed's own delivery (stamps, zone), over a finite list of bars."""

    def islive(self) -> bool:
        return False

    def _load(self) -> bool | None:
        if not self._ready:
            return False
        self._deliver(self._ready.popleft())
        return True


class TouchBroker(RecordingBroker):
    """Market orders fill at their bar's close plus the half-spread (see module doc)."""

    params: Any = (("half_spread", {}),)

    def _try_exec_market(self, order: Any, popen: float, phigh: float, plow: float) -> None:
        tick = float(self.p.half_spread.get(order.data._name, 0.0))
        price = order.created.pclose + (tick if order.isbuy() else -tick)
        self._execute(order, ago=0, price=round(price, 10), dtcoc=order.created.dt)


def replay(setup: ReplaySetup, bars: Mapping[str, Sequence[ReplayBar]]) -> ReplayResult:
    cerebro = bt.Cerebro(stdstats=False, quicknotify=True)
    broker = TouchBroker(half_spread=dict(setup.half_spread))
    cerebro.setbroker(broker)
    broker.setcash(setup.cash)
    rates = dict(setup.commission)
    broker.addcommissioninfo(IBCommission(**rates))
    for symbol, multiplier in setup.multipliers.items():
        if multiplier != 1.0:
            broker.addcommissioninfo(IBCommission(**rates, mult=multiplier), name=symbol)
    for symbol, series in bars.items():
        feed = ReplayFeed(symbol=symbol, bar_seconds=series[0].bar.seconds, name=symbol)
        feed.set_exchange(setup.zones.get(symbol, "US/Eastern"))
        for item in series:
            feed._queue(item.bar, historical=item.warmup)
        cerebro.adddata(feed, name=symbol)
    cerebro.addsizer(PortfolioPercentSizer, percents=setup.position_pct)
    orders: list[ReplayOrder] = []
    equity: list[tuple[datetime, float]] = []
    cerebro.addstrategy(_replayed(setup.strategy, orders, equity), **dict(setup.params))
    cerebro.run(runonce=False, preload=False)
    return ReplayResult(tuple(orders), tuple(equity))


def _replayed(
    cls: type[bt.Strategy], orders: list[ReplayOrder], equity: list[tuple[datetime, float]]
) -> type[bt.Strategy]:
    """`cls`, with `next()` skipped on warm-up bars and every finished order collected."""

    class Replayed(cls):  # type: ignore[misc]
        def next(self) -> None:
            if any(getattr(d, "in_history", False) for d in self.datas):
                return
            super().next()
            equity.append((_bar_time(self.datas[0].datetime[0]), self.broker.getvalue()))

        def notify_order(self, order: Any) -> None:
            if not order.alive():
                orders.append(_finished(order))
            super().notify_order(order)

    Replayed.__name__ = Replayed.__qualname__ = f"Replayed{cls.__name__}"
    return Replayed


def _finished(order: Any) -> ReplayOrder:
    created = _bar_time(order.created.dt)
    filled = abs(float(order.executed.size))
    return ReplayOrder(
        bar_start=created, symbol=order.data._name, side="BUY" if order.isbuy() else "SELL",
        quantity=abs(float(order.created.size)), status=order.getstatusname(), filled=filled,
        price=float(order.executed.price) if filled else None,
        commission=float(order.executed.comm),
    )  # fmt: skip


def _bar_time(number: float) -> datetime:
    """A Backtrader date number (naive UTC) as an aware UTC datetime, to the second."""
    moment: datetime = bt.num2date(number) + timedelta(microseconds=500_000)  # float round trip
    return moment.replace(tzinfo=UTC, microsecond=0)
