"""Market-data subscriptions and what each completed bucket publishes to them.

Per bucket and instrument: ticks as IB sends them (bid, ask, last with sizes,
the day's volume, open/high/low and the prior close; forex quotes only),
tick-by-tick trades and quotes, a five-second real-time bar, and updates of
keepUpToDate historical bars. All of them are cut from the same bucket, so they
agree with each other and with what historical requests return afterwards.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from tradd.simgw import encode, encode_ticks
from tradd.simgw.contracts import Instrument
from tradd.simgw.daystats import DayStats, day_stats
from tradd.simgw.history import HistBar, bar_label, format_bar_time
from tradd.simgw.history_series import as_quotes
from tradd.simgw.tape import Quote, Tape
from tradd.simgw.tickmodel import quote_size, quotes, trades
from tradd.simgw.wire import FieldValue, frame, payload

TICK_BID, TICK_ASK, TICK_LAST, TICK_HIGH, TICK_LOW, TICK_CLOSE, TICK_OPEN = 1, 2, 4, 6, 7, 9, 14
TICK_VOLUME = 8
US_STOCK_VOLUME_LOT = 100  # tick 8 for US stocks is in round lots ("US Stocks: multiplier 100")


class Subscriber(Protocol):
    """A client session as the market sees it."""

    @property
    def open(self) -> bool: ...
    def send(self, fields: list[FieldValue]) -> None: ...
    def send_frame(self, frame: bytes) -> None: ...


@dataclass
class KeepUpToDate:
    """A historical-bars subscription and the bar it is building."""

    size: int
    format_date: int
    bar: HistBar | None = None
    what: str = "TRADES"


@dataclass(frozen=True)
class TickByTick:
    """What a reqTickByTickData subscription streams (``encode_ticks.TBT_*``)."""

    kind: int
    ignore_size: bool = False


@dataclass
class Subscription:
    session: Subscriber
    req_id: int
    con_id: int
    kind: str  # "ticks" | "bars" | "history" | "tbt" | "pnl" | "pnl_single"
    history: KeepUpToDate | None = None
    what: str = "TRADES"  # real-time bars: TRADES, MIDPOINT, BID or ASK
    rt_volume: bool = False  # generic tick 233
    tbt: TickByTick | None = None
    last_sent: tuple[FieldValue, ...] | None = None  # P&L: only changes are sent


@dataclass
class Market:
    """All live subscriptions; ``publish`` is called once per bucket boundary."""

    tapes: dict[int, Tape]
    subscriptions: dict[tuple[int, int], Subscription] = field(default_factory=dict)
    paused: bool = False
    _stats: dict[int, DayStats] = field(default_factory=dict)
    on_quote: Callable[[int, Quote], None] | None = None
    on_published: Callable[[], None] | None = None

    def subscribe(self, sub: Subscription) -> None:
        self.subscriptions[(id(sub.session), sub.req_id)] = sub

    def unsubscribe(self, session: Subscriber, req_id: int) -> bool:
        return self.subscriptions.pop((id(session), req_id), None) is not None

    def drop_session(self, session: Subscriber) -> None:
        for key in [k for k, s in self.subscriptions.items() if s.session is session]:
            del self.subscriptions[key]

    def drop_all(self) -> int:
        """Data lost (1101): market data ends until the client asks again (P&L is account data)."""
        lost = [k for k, s in self.subscriptions.items() if s.kind not in ("pnl", "pnl_single")]
        for key in lost:
            del self.subscriptions[key]
        return len(lost)

    def day_stats(self, con_id: int, quote: Quote, *, with_notional: bool = False) -> DayStats:
        """The session up to ``quote``'s bucket (cached for the bucket last published)."""
        tape = self.tapes[con_id]
        known = self._stats.get(con_id)
        if known is None or known.bucket_start != quote.bucket_start:
            return day_stats(tape, quote, with_notional=with_notional)
        if known.notional is None and with_notional:  # now with the VWAP, carried on per bucket
            known = self._stats[con_id] = day_stats(tape, quote, with_notional=True)
        return known

    def _advance_stats(
        self, con_id: int, tape: Tape, quote: Quote, subs: list[Subscription] | None
    ) -> tuple[DayStats, DayStats | None]:
        before = self._stats.get(con_id)
        stats = before.after(tape, quote) if before is not None else day_stats(tape, quote)
        if stats.notional is None and subs and any(s.rt_volume for s in subs):
            stats = day_stats(tape, quote, with_notional=True)
        self._stats[con_id] = stats
        return stats, before

    def publish(self, boundary: int) -> None:
        """The bucket ending at ``boundary`` completed on every instrument that trades."""
        by_con: dict[int, list[Subscription]] = {}
        for sub in self.subscriptions.values():
            by_con.setdefault(sub.con_id, []).append(sub)
        for con_id, tape in self.tapes.items():
            quote = tape.quote(boundary - 5)
            if quote is None:
                continue
            subs = by_con.get(con_id)
            stats, before = self._advance_stats(con_id, tape, quote, subs)
            if self.on_quote is not None:
                self.on_quote(con_id, quote)
            if self.paused:
                continue
            if subs:
                shared = SharedTails(tape.instrument, quote, stats, before)
                for sub in subs:
                    if sub.session.open:
                        self._send(sub, tape, quote, shared)
        if self.on_published is not None and not self.paused:
            self.on_published()

    def _send(self, sub: Subscription, tape: Tape, q: Quote, shared: SharedTails) -> None:
        if sub.kind == "ticks":
            parts = shared.ticks() + (shared.rt_volume() if sub.rt_volume else [])
            _send_parts(sub, parts)
        elif sub.kind == "bars":
            _send_parts(sub, [shared.bar(sub.what)])
        elif sub.kind == "tbt" and sub.tbt is not None:
            _send_parts(sub, shared.tick_by_tick(sub.tbt))
        elif sub.history is not None:
            self._update_history(sub, tape, q)

    def _update_history(self, sub: Subscription, tape: Tape, q: Quote) -> None:
        h = sub.history
        assert h is not None
        label = bar_label(tape, q.bucket_start, h.size)
        bar = h.bar
        if bar is None or bar.start != label:
            bar = HistBar(label, q.open, q.high, q.low, q.last, q.volume, q.last, 1)
        else:
            volume = bar.volume + q.volume
            wap = (bar.wap * bar.volume + q.last * q.volume) / volume if volume else q.last
            bar = HistBar(label, bar.open, max(bar.high, q.high), min(bar.low, q.low), q.last,
                          volume, round(wap, 6), bar.count + 1)  # fmt: skip
        h.bar = bar
        date = format_bar_time(bar.start, h.size, tape.instrument.time_zone, h.format_date)
        shown = as_quotes(bar, h.what, tape.instrument.min_tick)
        sub.session.send(encode.historical_data_update(
            sub.req_id, shown.count, date, shown.open, shown.high, shown.low, shown.close,
            shown.wap, shown.volume))  # fmt: skip


class SharedTails:
    """One bucket's messages encoded once: per subscription only the request id differs.

    Every message here is ``id, [version,] reqId, ...``; the part after reqId is the
    same for all subscribers, which is most of the encoding cost.
    """

    def __init__(
        self, inst: Instrument, quote: Quote, stats: DayStats, before: DayStats | None
    ) -> None:
        self._inst = inst
        self._quote = quote
        self._stats = stats
        self._before = before
        self._ticks: list[tuple[bytes, bytes]] | None = None
        self._bars: dict[str, tuple[bytes, bytes]] = {}
        self._rt: list[tuple[bytes, bytes]] | None = None
        self._tbt: dict[TickByTick, list[tuple[bytes, bytes]]] = {}

    def ticks(self) -> list[tuple[bytes, bytes]]:
        if self._ticks is None:
            messages = tick_messages(0, self._inst, self._quote, self._stats, self._before)
            self._ticks = [_split(m) for m in messages]
        return self._ticks

    def bar(self, what: str = "TRADES") -> tuple[bytes, bytes]:
        """The bucket as a real-time bar of ``what`` (quotes: no volume, as IB sends -1)."""
        if what not in self._bars:
            q = self._quote
            b = as_quotes(HistBar(q.bucket_start, q.open, q.high, q.low, q.last, q.volume,
                                  q.last, 1), what, self._inst.min_tick)  # fmt: skip
            message = encode.realtime_bar(
                0, b.start, b.open, b.high, b.low, b.close, b.volume, b.wap, b.count
            )
            self._bars[what] = _split(message)
        return self._bars[what]

    def rt_volume(self) -> list[tuple[bytes, bytes]]:
        """Generic tick 233: one RTVolume string per trade of the bucket."""
        if self._rt is None:
            self._rt = [_split(m) for m in rt_volume_messages(0, self._inst, self._quote,
                                                                self._stats)]  # fmt: skip
        return self._rt

    def tick_by_tick(self, tbt: TickByTick) -> list[tuple[bytes, bytes]]:
        cached = self._tbt.get(tbt)
        if cached is None:
            messages = tick_by_tick_messages(0, self._inst, [self._quote], tbt)
            cached = self._tbt[tbt] = [_split(m, versioned=False) for m in messages]
        return cached


def _send_parts(sub: Subscription, parts: list[tuple[bytes, bytes]]) -> None:
    rid = str(sub.req_id).encode() + b"\0"
    for head, tail in parts:
        sub.session.send_frame(frame(head + rid + tail))


def _split(fields: list[FieldValue], *, versioned: bool = True) -> tuple[bytes, bytes]:
    """(``id\0[version\0]``, everything after the reqId) of a message."""
    at = 2 if versioned else 1
    return payload(fields[:at]), payload(fields[at + 1 :])


def is_us_stock(inst: Instrument) -> bool:
    return inst.sec_type == "STK" and inst.currency == "USD"


def volume_units(inst: Instrument, shares: int) -> int:
    """The day's volume as tick 8 carries it: round lots for US stocks, else units."""
    return shares // US_STOCK_VOLUME_LOT if is_us_stock(inst) else shares


def tick_messages(
    req_id: int, inst: Instrument, q: Quote, stats: DayStats, before: DayStats | None = None
) -> list[list[FieldValue]]:
    """One bucket as IB's ticks; with ``before`` (the previous bucket's stats) only changes.

    Bid and ask (prices with sizes) every time; for non-forex the last trade with its
    size and the day's volume; the session's high and low when they move, open and
    the prior close when the session is new to the subscriber. IDEALPRO forex has no
    trades: no last, no volume, no open.
    """
    size = quote_size(inst, q)
    out = [encode.tick_price(req_id, TICK_BID, q.bid, size),
           encode.tick_price(req_id, TICK_ASK, q.ask, size)]  # fmt: skip
    printed = trades(q)
    if not inst.is_forex and (printed or before is None):
        last_size = printed[-1].size if printed else 0
        out.append(encode.tick_price(req_id, TICK_LAST, q.last, last_size))
        out.append(encode.tick_size(req_id, TICK_VOLUME, volume_units(inst, stats.volume)))
    new_day = before is None or before.day != stats.day
    if new_day or before is None or stats.high != before.high:
        out.append(encode.tick_price(req_id, TICK_HIGH, stats.high, 0))
    if new_day or before is None or stats.low != before.low:
        out.append(encode.tick_price(req_id, TICK_LOW, stats.low, 0))
    if new_day:
        if stats.prev_close == stats.prev_close:  # not NaN
            out.append(encode.tick_price(req_id, TICK_CLOSE, stats.prev_close, 0))
        if not inst.is_forex:
            out.append(encode.tick_price(req_id, TICK_OPEN, stats.open, 0))
    return out


def rt_volume_messages(
    req_id: int, inst: Instrument, q: Quote, stats: DayStats
) -> list[list[FieldValue]]:
    """RTVolume strings for the bucket's trades; the running total ends at the day's volume."""
    printed = trades(q)
    if inst.is_forex or not printed:
        return []
    out: list[list[FieldValue]] = []
    total = stats.volume - q.volume
    for trade in printed:
        total += trade.size
        out.append(encode_ticks.rt_volume(req_id, trade, volume_units(inst, total), stats.vwap))
    return out


def tick_by_tick_messages(
    req_id: int, inst: Instrument, buckets: list[Quote], tbt: TickByTick
) -> list[list[FieldValue]]:
    """The buckets' trades or quotes as tickByTick (99) messages, oldest first."""
    exchange = inst.primary_exchange or inst.exchange
    out: list[list[FieldValue]] = []
    previous: tuple[float, float] | None = None
    for q in buckets:
        if tbt.kind in (encode_ticks.TBT_LAST, encode_ticks.TBT_ALL_LAST):
            if not inst.is_forex:
                out += [encode_ticks.tick_by_tick_trade(req_id, tbt.kind, t, exchange)
                        for t in trades(q)]  # fmt: skip
            continue
        for ba in quotes(inst, q):
            if tbt.kind == encode_ticks.TBT_MID_POINT:
                out.append(encode_ticks.tick_by_tick_mid(req_id, ba))
                continue
            if tbt.ignore_size and previous == (ba.bid, ba.ask):
                continue  # ignoreSize: a change of size alone is not reported
            previous = (ba.bid, ba.ask)
            out.append(encode_ticks.tick_by_tick_bid_ask(req_id, ba))
    return out
