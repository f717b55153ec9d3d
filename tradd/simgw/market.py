"""Market-data subscriptions and what each completed bucket publishes to them.

Per bucket and instrument: ticks (bid, ask, last with sizes, day volume),
a five-second real-time bar, and updates of keepUpToDate historical bars.
All of them are cut from the same bucket, so they agree with each other and
with what historical requests return afterwards.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from tradd.simgw import encode
from tradd.simgw.history import HistBar, bar_label, format_bar_time
from tradd.simgw.history_series import as_quotes
from tradd.simgw.tape import Quote, Tape
from tradd.simgw.wire import FieldValue, frame, payload

TICK_BID, TICK_ASK, TICK_LAST, TICK_VOLUME, TICK_CLOSE = 1, 2, 4, 8, 9
SIZE_BID, SIZE_ASK, SIZE_LAST = 0, 3, 5


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


@dataclass
class Subscription:
    session: Subscriber
    req_id: int
    con_id: int
    kind: str  # "ticks" | "bars" | "history"
    history: KeepUpToDate | None = None
    what: str = "TRADES"  # real-time bars: TRADES, MIDPOINT, BID or ASK


@dataclass
class _Volume:
    day: int = -1
    total: int = 0


@dataclass
class Market:
    """All live subscriptions; ``publish`` is called once per bucket boundary."""

    tapes: dict[int, Tape]
    subscriptions: dict[tuple[int, int], Subscription] = field(default_factory=dict)
    paused: bool = False
    _volumes: dict[int, _Volume] = field(default_factory=dict)
    on_quote: Callable[[int, Quote], None] | None = None

    def subscribe(self, sub: Subscription) -> None:
        self.subscriptions[(id(sub.session), sub.req_id)] = sub

    def unsubscribe(self, session: Subscriber, req_id: int) -> bool:
        return self.subscriptions.pop((id(session), req_id), None) is not None

    def drop_session(self, session: Subscriber) -> None:
        for key in [k for k, s in self.subscriptions.items() if s.session is session]:
            del self.subscriptions[key]

    def drop_all(self) -> int:
        """Data lost (1101): every subscription ends until the client asks again."""
        count = len(self.subscriptions)
        self.subscriptions.clear()
        return count

    def day_volume(self, con_id: int, quote: Quote) -> int:
        vol = self._volumes.setdefault(con_id, _Volume())
        day = quote.bucket_start // 86_400
        if day != vol.day:
            vol.day, vol.total = day, 0
        vol.total += quote.volume
        return vol.total

    def publish(self, boundary: int) -> None:
        """The bucket ending at ``boundary`` completed on every instrument that trades."""
        by_con: dict[int, list[Subscription]] = {}
        for sub in self.subscriptions.values():
            by_con.setdefault(sub.con_id, []).append(sub)
        for con_id, tape in self.tapes.items():
            quote = tape.quote(boundary - 5)
            if quote is None:
                continue
            volume = self.day_volume(con_id, quote)
            if self.on_quote is not None:
                self.on_quote(con_id, quote)
            if self.paused:
                continue
            subs = by_con.get(con_id)
            if subs:
                shared = SharedTails(quote, volume, tape.instrument.min_tick)
                for sub in subs:
                    if sub.session.open:
                        self._send(sub, tape, quote, shared)

    def _send(self, sub: Subscription, tape: Tape, q: Quote, shared: SharedTails) -> None:
        if sub.kind == "ticks":
            for head, tail in shared.ticks():
                sub.session.send_frame(frame(head + str(sub.req_id).encode() + b"\0" + tail))
        elif sub.kind == "bars":
            head, tail = shared.bar(sub.what)
            sub.session.send_frame(frame(head + str(sub.req_id).encode() + b"\0" + tail))
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

    Every message here is ``id, version, reqId, ...``; the part after reqId is the same
    for all subscribers, which is most of the encoding cost.
    """

    def __init__(self, quote: Quote, volume: int, tick: float = 0.0) -> None:
        self._quote = quote
        self._volume = volume
        self._tick = tick
        self._ticks: list[tuple[bytes, bytes]] | None = None
        self._bars: dict[str, tuple[bytes, bytes]] = {}

    def ticks(self) -> list[tuple[bytes, bytes]]:
        if self._ticks is None:
            self._ticks = [_split(m) for m in tick_messages(0, self._quote, self._volume)]
        return self._ticks

    def bar(self, what: str = "TRADES") -> tuple[bytes, bytes]:
        """The bucket as a real-time bar of ``what`` (quotes: no volume, as IB sends -1)."""
        if what not in self._bars:
            q = self._quote
            b = as_quotes(HistBar(q.bucket_start, q.open, q.high, q.low, q.last, q.volume,
                                  q.last, 1), what, self._tick)  # fmt: skip
            message = encode.realtime_bar(
                0, b.start, b.open, b.high, b.low, b.close, b.volume, b.wap, b.count
            )
            self._bars[what] = _split(message)
        return self._bars[what]


def _split(fields: list[FieldValue]) -> tuple[bytes, bytes]:
    """(``id\0version\0``, everything after the reqId) of a message."""
    return payload(fields[:2]), payload(fields[3:])


def tick_messages(req_id: int, q: Quote, day_volume: int) -> list[list[FieldValue]]:
    """One bucket as ticks: bid, ask, last (with sizes) and the day's volume."""
    size = max(q.volume // 10, 1)
    return [
        encode.tick_price(req_id, TICK_BID, q.bid, size),
        encode.tick_price(req_id, TICK_ASK, q.ask, size),
        encode.tick_price(req_id, TICK_LAST, q.last, max(q.volume, 1)),
        encode.tick_size(req_id, TICK_VOLUME, day_volume),
    ]
