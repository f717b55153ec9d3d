"""Closed trades a trader can check: direction, size, entry and exit time and price, P&L.

Backtrader's `Trade` keeps the average entry price, P&L, commission and dates, but a
closed trade's size is 0 and its exit price is not kept. The fills are still there after
the run: the strategy keeps every order notification in `strategy._orders`, and each
notification's clone yields, through `executed.iterpending()`, exactly the execution
bits Backtrader fed to its `Trade` objects on that notification (the part that closed
the position and the part that opened one). Replaying them in the same order gives each
trade's units in and out and their average prices, at no cost per bar. Backtrader's own
figures (P&L, commission, dates, bars held) are kept as they are, so these records agree
with the metrics to the cent.

Only `tradd backtest` builds them (`BacktestEngine.run(params, records=True)`);
optimization trials keep the cheap summary of `engine._trade_summary`.

For a trade that scaled in or out, size is the units bought (or sold short) over its
life and the prices are the averages over all its fills in and out; then
pnl = (exit_price - entry_price) x size x multiplier (negated for a short) still holds,
because Backtrader books each reduction against the running average entry price.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import backtrader as bt

TRADES_FILE = "trades.csv"

TRADE_COLUMNS = (
    "symbol",
    "direction",
    "size",
    "multiplier",
    "entry_time",
    "entry_price",
    "exit_time",
    "exit_price",
    "pnl",
    "commission",
    "pnl_net",
    "bars",
)


@dataclass(frozen=True)
class TradeRecord:
    """One closed trade, as written to trades.csv and result.json's `trades`."""

    symbol: str
    direction: str
    """long or short."""
    size: float
    """Units entered over the trade's life (shares; contracts for futures)."""
    multiplier: float
    """Currency per unit per point (the contract multiplier; 1 for stocks)."""
    entry_time: str
    """Bar of the first fill (ISO, the data's exchange-local time)."""
    entry_price: float
    """Average fill price in."""
    exit_time: str
    exit_price: float
    """Average fill price out."""
    pnl: float
    """Gross, before commission."""
    commission: float
    """Paid on the way in and out."""
    pnl_net: float
    bars: int
    """Bars held (Backtrader's barlen: from the entry bar to the exit bar)."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class OpenTrade:
    """A position still open when the data ended, marked at the last close (result.json's
    `open_trades`): final value - cash = sum of closed pnl_net + sum of open pnl_net."""

    symbol: str
    direction: str
    size: float
    """Units held at the end."""
    multiplier: float
    entry_time: str
    entry_price: float
    """Backtrader's average price of the units held."""
    mark_time: str
    mark_price: float
    """The symbol's last close."""
    pnl: float
    """Realised on any part already closed, plus unrealised at the mark, gross."""
    commission: float
    pnl_net: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Fills:
    """Units and value through one trade's fills in and out."""

    units_in: float = 0.0
    value_in: float = 0.0
    units_out: float = 0.0
    value_out: float = 0.0
    position: float = 0.0
    multiplier: float = 1.0


def trade_records(strategy: bt.Strategy) -> list[TradeRecord]:
    """The strategy's closed trades after a run, in the order they closed per symbol."""
    fills = _replay(strategy)
    records: list[TradeRecord] = []
    for data, by_id in strategy._trades.items():
        for tradeid, trades in by_id.items():
            closed = [t for t in trades if t.isclosed]
            for trade, done in zip(closed, fills.get((data, tradeid), []), strict=False):
                records.append(_record(data._name, trade, done))
    records.sort(key=lambda r: (r.exit_time, r.entry_time, r.symbol))
    return records


def open_trades(strategy: bt.Strategy) -> list[OpenTrade]:
    """Positions open at the end of the run, marked at each symbol's last close."""
    marked: list[OpenTrade] = []
    for data, by_id in strategy._trades.items():
        for trades in by_id.values():
            for trade in trades:
                if trade.isopen and len(data):
                    marked.append(_marked(strategy.broker.getcommissioninfo(data), data, trade))
    return marked


def _marked(comminfo: Any, data: Any, trade: Any) -> OpenTrade:
    mult = float(getattr(comminfo.p, "mult", 1.0) or 1.0)
    mark = float(data.close[0])
    unrealised = trade.size * (mark - trade.price) * mult
    pnl = float(trade.pnl + unrealised)
    return OpenTrade(
        symbol=data._name,
        direction="long" if trade.size > 0 else "short",
        size=abs(float(trade.size)),
        multiplier=mult,
        entry_time=bar_time(trade.dtopen),
        entry_price=float(trade.price),
        mark_time=bar_time(data.datetime[0]),
        mark_price=mark,
        pnl=pnl,
        commission=float(trade.commission),
        pnl_net=pnl - float(trade.commission),
    )


def _replay(strategy: bt.Strategy) -> dict[tuple[Any, Any], list[_Fills]]:
    """Each (data, tradeid)'s closed trades' fills, from the notified orders' execution bits."""
    done: dict[tuple[Any, Any], list[_Fills]] = {}
    current: dict[tuple[Any, Any], _Fills] = {}
    for order, bit in _execution_bits(strategy):
        data = order.data._compensate if order.data._compensate is not None else order.data
        key = (data, order.tradeid)
        fills = current.setdefault(key, _Fills(multiplier=_multiplier(order)))
        if bit.closed:
            fills.units_out += abs(bit.closed)
            fills.value_out += abs(bit.closed) * bit.price
            fills.position += bit.closed
            if not fills.position:
                done.setdefault(key, []).append(fills)
                fills = current[key] = _Fills(multiplier=_multiplier(order))
        if bit.opened:
            fills.units_in += abs(bit.opened)
            fills.value_in += abs(bit.opened) * bit.price
            fills.position += bit.opened
    return done


def _execution_bits(strategy: bt.Strategy) -> Iterator[tuple[Any, Any]]:
    """Execution bits in the order Backtrader booked them into trades (see module doc)."""
    for order in (*strategy._orders, *strategy._orderspending):
        if not order.executed.size:
            continue
        for bit in order.executed.iterpending():
            if bit is None:
                break
            yield order, bit


def _multiplier(order: Any) -> float:
    comminfo = order.comminfo
    mult = getattr(comminfo.p, "mult", 1.0) if comminfo is not None else 1.0
    return float(mult or 1.0)


def _record(symbol: str, trade: Any, fills: _Fills) -> TradeRecord:
    return TradeRecord(
        symbol=symbol,
        direction="long" if trade.long else "short",
        size=fills.units_in,
        multiplier=fills.multiplier,
        entry_time=bar_time(trade.dtopen),
        entry_price=fills.value_in / fills.units_in if fills.units_in else 0.0,
        exit_time=bar_time(trade.dtclose),
        exit_price=fills.value_out / fills.units_out if fills.units_out else 0.0,
        pnl=float(trade.pnl),
        commission=float(trade.commission),
        pnl_net=float(trade.pnlcomm),
        bars=int(trade.barlen),
    )


def bar_time(stamp: float) -> str:
    """A Backtrader day number as the bar's ISO time (to the second: bars are never finer,
    and the float round trip can be a microsecond off). Empty for Backtrader's 0.0 (no date:
    a simulated order's trade)."""
    if stamp <= 0:
        return ""
    moment: datetime = bt.num2date(stamp) + timedelta(microseconds=500_000)
    return moment.replace(microsecond=0).isoformat()


def write_trades_csv(path: Path, records: Sequence[TradeRecord]) -> None:
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(TRADE_COLUMNS)
        for record in records:
            row = record.as_dict()
            writer.writerow([row[column] for column in TRADE_COLUMNS])
