"""Backtrader's broker, as tradd's engine configures it, in one numba loop.

A kernel says, per symbol and bar, what the strategy's `next()` would do when flat
(`enter`) and when long (`exit`). This loop replays those decisions through the broker
semantics of `tradd.research.broker` on Backtrader 1.9.78, in its order of operations so
the floating-point results are the same:

- an order created on bar t (market, sized by `PortfolioPercentSizer` at bar t's close
  from bar t's portfolio value and cash) is checked at the start of bar t+1 against the
  cash left by the orders before it, priced at bar t's close (`check_submitted`), then
  fills at bar t+1's open, slipped by `slippage_pct` within the bar's range; a buy whose
  cost and commission exceed the cash is cancelled (Margin) and the strategy, still
  flat, decides again on the next bar;
- orders created before `first` (the warm-up; `RecordingBroker.trade_from`) are refused;
- the value recorded after every bar is cash plus each position at the close.

Commissions are `tradd.research.costs.CostScheme.commission` (one per symbol).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from tradd.research.kernels.codes import KIND_PER_UNIT, BoolArray, FloatArray, IntArray


@numba.njit(cache=True)  # type: ignore[untyped-decorator]
def commission(costs: FloatArray, size: float, price: float) -> float:
    """`CostScheme.commission`; `costs` = kind, multiplier, rate, minimum, max_pct,
    min_cap_pct, minimum_in_base (NaN for None)."""
    units = abs(size)
    value = units * price * costs[1]
    if costs[0] == KIND_PER_UNIT:
        fee = max(units * costs[2], costs[3])
        cap = 0.0 if math.isnan(costs[4]) else value * costs[4] / 100.0
        return float(min(fee, cap) if cap > 0 else fee)
    minimum = costs[3] * price if costs[6] != 0.0 else costs[3]
    if not math.isnan(costs[5]):
        minimum = min(minimum, value * costs[5] / 100.0)
    return float(max(value * costs[2], minimum))


@numba.njit(cache=True)  # type: ignore[untyped-decorator]
def simulate(
    prices: FloatArray,
    enter: BoolArray,
    exit_: BoolArray,
    costs: FloatArray,
    start: int,
    first: int,
    cash: float,
    percents: float,
    slip: float,
) -> tuple[FloatArray, FloatArray, int]:
    """Equity after every bar, the trades (rows of `TRADE_COLUMNS`), and how many.

    `prices[s, f, t]`: symbol s, field f (open, high, low, close), bar t. `costs[s]`: see
    `commission`. `start`: the first bar `next()` runs on."""
    symbols, bars = prices.shape[0], prices.shape[2]
    equity = np.empty(bars)
    trades = np.empty((bars * symbols // 2 + symbols + 1, 8))
    count = 0
    size = np.zeros(symbols)
    entry_price = np.zeros(symbols)
    entry_bar = np.zeros(symbols, dtype=np.int64)
    entry_comm = np.zeros(symbols)
    order = np.zeros(symbols)  # size ordered on the previous bar: + buy, - sell, 0 none
    created = np.zeros(symbols)  # its creation price (the close)
    for t in range(bars):
        if t > 0:
            _check_submitted(order, created, costs, cash)
            for s in range(symbols):
                if order[s] > 0:
                    cash = _buy(prices, costs, s, t, order[s], cash, slip, size, entry_price,
                                entry_bar, entry_comm)  # fmt: skip
                elif order[s] < 0:
                    cash, count = _sell(prices, costs, s, t, cash, slip, size, entry_price,
                                        entry_bar, entry_comm, trades, count)  # fmt: skip
                order[s] = 0.0
        value = cash + _positions_value(prices, costs, size, entry_price, t)
        equity[t] = value
        if t < start or t < first:
            continue  # before the first next(), or refused (warm-up): no order
        for s in range(symbols):
            close = prices[s, 3, t]
            if size[s] == 0.0:
                if enter[s, t] and close > 0:
                    budget = value * percents / 100.0 / symbols
                    wanted = float(int(min(budget, cash) / (close * costs[s, 1])))
                    order[s] = wanted
                    created[s] = close
            elif exit_[s, t]:
                order[s] = -size[s]
                created[s] = close
    for s in range(symbols):
        if size[s] != 0.0:
            trades[count, 0] = s
            trades[count, 1] = entry_bar[s]
            trades[count, 2] = -1
            trades[count, 3] = size[s]
            trades[count, 4] = entry_price[s]
            count += 1
    return equity, trades, count


TRADE_COLUMNS = ("symbol", "entry_bar", "exit_bar", "size", "entry_price", "exit_price",
                 "pnl", "pnl_net")  # fmt: skip
"""exit_bar -1: still open at the end (exit_price, pnl, pnl_net not set)."""


@numba.njit(cache=True)  # type: ignore[untyped-decorator]
def _check_submitted(
    order: FloatArray, created: FloatArray, costs: FloatArray, cash: float
) -> None:
    """`BackBroker.check_submitted`: each order pseudo-executed at its creation price in
    turn; one that leaves the running cash negative is cancelled (Margin)."""
    for s in range(order.shape[0]):
        wanted = order[s]
        if wanted == 0.0:
            continue
        price = created[s]
        if wanted < 0:
            cash += -wanted * price * costs[s, 1] + 0
        else:
            cash -= wanted * price * costs[s, 1]
        cash -= commission(costs[s], wanted, price)
        if cash < 0.0:
            order[s] = 0.0


@numba.njit(cache=True)  # type: ignore[untyped-decorator]
def _buy(prices: FloatArray, costs: FloatArray, s: int, t: int, wanted: float, cash: float,
         slip: float, size: FloatArray, entry_price: FloatArray, entry_bar: IntArray,
         entry_comm: FloatArray) -> float:  # fmt: skip
    price = prices[s, 0, t]
    if slip:
        slipped = price * (1 + slip)
        price = slipped if slipped <= prices[s, 1, t] else prices[s, 1, t]
    left = cash - wanted * price * costs[s, 1]
    fee = commission(costs[s], wanted, price)
    left -= fee
    if left < 0.0:
        return cash  # Margin: nothing executed
    size[s] = wanted
    entry_price[s] = price
    entry_bar[s] = t
    entry_comm[s] = fee
    return float(left)


@numba.njit(cache=True)  # type: ignore[untyped-decorator]
def _sell(prices: FloatArray, costs: FloatArray, s: int, t: int, cash: float, slip: float,
          size: FloatArray, entry_price: FloatArray, entry_bar: IntArray, entry_comm: FloatArray,
          trades: FloatArray, count: int) -> tuple[float, int]:  # fmt: skip
    price = prices[s, 0, t]
    if slip:
        slipped = price * (1 - slip)
        price = slipped if slipped >= prices[s, 2, t] else prices[s, 2, t]
    held, paid, mult = size[s], entry_price[s], costs[s, 1]
    pnl = held * (price - paid) * mult
    cash += held * paid * mult + pnl
    fee = commission(costs[s], -held, price)
    cash -= fee
    trades[count, 0] = s
    trades[count, 1] = entry_bar[s]
    trades[count, 2] = t
    trades[count, 3] = held
    trades[count, 4] = paid
    trades[count, 5] = price
    # Backtrader's Trade averages its own entry price, (0 + size x price) / size, which
    # can differ from the position's price in the last place: its P&L uses that one.
    trade_pnl = held * (price - (held * paid) / held) * mult
    trades[count, 6] = trade_pnl
    trades[count, 7] = trade_pnl - (0.0 + entry_comm[s] + fee)
    size[s] = 0.0
    return cash, count + 1


@numba.njit(cache=True)  # type: ignore[untyped-decorator]
def _positions_value(prices: FloatArray, costs: FloatArray, size: FloatArray,
                     entry_price: FloatArray, t: int) -> float:  # fmt: skip
    """`BackBroker._get_value`'s unlevered position value, summed in data order."""
    total = 0.0
    for s in range(size.shape[0]):
        held = size[s]
        if held == 0.0:
            continue
        close, mult = prices[s, 3, t], costs[s, 1]
        value = held * close * mult
        unrealized = held * (close - entry_price[s]) * mult
        if value > 0:
            total += (value - unrealized) / 1.0
            total += unrealized
        else:
            total += value
    return float(total)
