"""Individual trades and quotes inside a five-second bucket: one model for live and history.

Tick-by-tick data (reqTickByTickData) and historical ticks (reqHistoricalTicks)
both come from here, so what a client records live is what it gets back later.
Each bucket with volume prints four trades: the open, the extreme the price
reached first, the other extreme, and the close, at seconds 0, 1, 3 and 4 of the
bucket. Rising buckets (close >= open) go to the low first, falling ones to the
high first. The volume is split evenly, the remainder to the earliest trades, so
the trades aggregate back exactly to the bucket's open, high, low, close and
volume (the five-second bar). A bucket with fewer than four shares prints fewer
trades: the close always, then the open, then the first extreme.

Quotes sit one tick either side of each trade, as ``Quote.bid``/``Quote.ask``
do for the whole bucket; the midpoint is the trade price. Forex (IDEALPRO)
reports quotes only, never trades.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from tradd.simgw.contracts import Instrument
from tradd.simgw.tape import BUCKET, Quote, Tape

OFFSETS = (0, 1, 3, 4)
_KEEP = {1: (3,), 2: (0, 3), 3: (0, 1, 3)}
FOREX_QUOTE_SIZE = 1_000_000


@dataclass(frozen=True)
class Trade:
    time: int
    price: float
    size: int


@dataclass(frozen=True)
class BidAsk:
    time: int
    bid: float
    ask: float
    bid_size: int
    ask_size: int

    @property
    def mid(self) -> float:
        return round((self.bid + self.ask) / 2, 10)


def _path(q: Quote) -> tuple[float, float, float, float]:
    if q.last >= q.open:
        return q.open, q.low, q.high, q.last
    return q.open, q.high, q.low, q.last


def trades(q: Quote) -> list[Trade]:
    """The bucket's trades in time order (none without volume)."""
    if q.volume <= 0:
        return []
    path = _path(q)
    keep = _KEEP.get(q.volume, (0, 1, 2, 3))
    base, extra = divmod(q.volume, len(keep))
    return [Trade(q.bucket_start + OFFSETS[j], path[j], base + (1 if n < extra else 0))
            for n, j in enumerate(keep)]  # fmt: skip


def quote_size(inst: Instrument, q: Quote) -> int:
    """Shares (or base-currency units for forex) shown at the bid and at the ask."""
    return FOREX_QUOTE_SIZE if inst.is_forex else max(q.volume // 10, 1)


def quotes(inst: Instrument, q: Quote) -> list[BidAsk]:
    """The bucket's bid/ask changes: one around each point of the trade path."""
    size = quote_size(inst, q)
    tick = inst.min_tick
    return [BidAsk(q.bucket_start + OFFSETS[j], round(p - tick, 10), round(p + tick, 10),
                   size, size)
            for j, p in enumerate(_path(q))]  # fmt: skip


def buckets_between(tape: Tape, start: int, end: int) -> Iterator[Quote]:
    """Every trading bucket starting in [start, end), oldest first, skipping closed time."""
    t = start - start % BUCKET
    while t < end:
        i = tape.bar_index(t)
        if i is None:
            nxt = tape.next_open(t + 1)
            if nxt is None:
                return
            t = nxt - nxt % BUCKET
            continue
        quote = tape.quote(t)
        if quote is not None:
            yield quote
        t += BUCKET


def buckets_before(tape: Tape, end: int) -> Iterator[Quote]:
    """Every trading bucket that completed by ``end``, newest first."""
    quote = tape.last_quote_before(end)
    while quote is not None:
        yield quote
        quote = tape.last_quote_before(quote.bucket_start)
