"""Server messages of tick-by-tick data, historical ticks and P&L (server version 176).

Layouts follow ``decoder.py`` of ib_async 2.1 and ib_insync 0.9.86:
tickByTick (99), historicalTicks (96), historicalTicksBidAsk (97),
historicalTicksLast (98), pnl (94) and pnlSingle (95). None of them carries a
version field.
"""

from __future__ import annotations

from tradd.simgw.tickmodel import BidAsk, Trade
from tradd.simgw.wire import FieldValue

Fields = list[FieldValue]
UNSET_DOUBLE = "1.7976931348623157E308"
TBT_LAST, TBT_ALL_LAST, TBT_BID_ASK, TBT_MID_POINT = 1, 2, 3, 4


def tick_by_tick_trade(req_id: int, kind: int, trade: Trade, exchange: str) -> Fields:
    """kind 1 (Last) or 2 (AllLast): time, price, size, attribute mask, exchange, conditions."""
    return [99, req_id, kind, trade.time, trade.price, trade.size, 0, exchange, ""]


def tick_by_tick_bid_ask(req_id: int, q: BidAsk) -> Fields:
    return [99, req_id, TBT_BID_ASK, q.time, q.bid, q.ask, q.bid_size, q.ask_size, 0]


def tick_by_tick_mid(req_id: int, q: BidAsk) -> Fields:
    return [99, req_id, TBT_MID_POINT, q.time, q.mid]


def historical_ticks_mid(req_id: int, ticks: list[BidAsk], done: bool) -> Fields:
    out: Fields = [96, req_id, len(ticks)]
    for q in ticks:
        out += [q.time, 0, q.mid, 0]
    return [*out, int(done)]


def historical_ticks_bid_ask(req_id: int, ticks: list[BidAsk], done: bool) -> Fields:
    out: Fields = [97, req_id, len(ticks)]
    for q in ticks:
        out += [q.time, 0, q.bid, q.ask, q.bid_size, q.ask_size]
    return [*out, int(done)]


def historical_ticks_last(req_id: int, ticks: list[Trade], exchange: str, done: bool) -> Fields:
    out: Fields = [98, req_id, len(ticks)]
    for t in ticks:
        out += [t.time, 0, t.price, t.size, exchange, ""]
    return [*out, int(done)]


def pnl(req_id: int, daily: float, unrealized: float, realized: float) -> Fields:
    return [94, req_id, daily, unrealized, realized]


def pnl_single(req_id: int, pos: float, daily: FieldValue, unrealized: FieldValue,
               realized: FieldValue, value: FieldValue) -> Fields:  # fmt: skip
    return [95, req_id, pos, daily, unrealized, realized, value]


def rt_volume(req_id: int, trade: Trade, day_volume: int, vwap: float) -> Fields:
    """tickString 48 (RTVolume, generic tick 233): price;size;time ms;total;vwap;single."""
    value = f"{trade.price};{trade.size};{trade.time * 1000};{day_volume};{vwap:.8g};true"
    return [46, 6, req_id, 48, value]
