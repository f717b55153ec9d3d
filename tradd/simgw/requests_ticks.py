"""Top-of-book and tick requests: reqMktData, reqTickByTickData, reqHistoricalTicks.

All three read the same buckets (``tickmodel``), so a ticker, a tick-by-tick
stream and the historical ticks fetched afterwards tell one story. Requests TWS
would refuse get its error on the request's own id.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import TypeVar

from tradd.simgw import encode, encode_ticks, generic_ticks
from tradd.simgw.contracts import Instrument
from tradd.simgw.core import Core
from tradd.simgw.history import HistoryRequestError, parse_end
from tradd.simgw.lookup import one_instrument
from tradd.simgw.market import (
    Subscription,
    TickByTick,
    rt_volume_messages,
    tick_messages,
)
from tradd.simgw.orders import to_bool, to_int
from tradd.simgw.routing import Route, Routes
from tradd.simgw.session import ClientSession
from tradd.simgw.tape import BUCKET, Quote, Tape
from tradd.simgw.tickmodel import BidAsk, Trade, buckets_before, buckets_between, quotes, trades
from tradd.simgw.wire import FieldValue

T = TypeVar("T", Trade, BidAsk)

TBT_KINDS = {
    "Last": encode_ticks.TBT_LAST,
    "AllLast": encode_ticks.TBT_ALL_LAST,
    "BidAsk": encode_ticks.TBT_BID_ASK,
    "MidPoint": encode_ticks.TBT_MID_POINT,
}
MAX_TICK_BY_TICK = 3  # IB: as for market depth, at least 3 lines for a standard account
MAX_TICKS = 1000
MAX_SCAN = 20_000  # buckets looked at for one request: more than any session holds
SNAPSHOT_GENERIC = (
    "Error validating request.-'bQ' : cause - "
    "Snapshot market data subscription is not applicable to generic ticks"
)
TBT_LIMIT = "Max number of tick-by-tick requests has been reached."
HT_PREFIX = "Historical Market Data Service error message:"


class TickRequests:
    def __init__(self, core: Core) -> None:
        self.core = core

    def routes(self) -> Routes:
        return {
            1: Route("reqMktData", 19, self.market_data),
            2: Route("cancelMktData", 3, self.cancel),
            59: Route("reqMarketDataType", 3, self.market_data_type),
            97: Route("reqTickByTickData", 17, self.tick_by_tick),
            98: Route("cancelTickByTickData", 2, self.cancel_tick_by_tick),
            96: Route("reqHistoricalTicks", 21, self.historical_ticks),
        }

    def _instrument(
        self, session: ClientSession, req_id: int, fields: list[str], at: int
    ) -> Instrument | None:
        return one_instrument(self.core.book, session, req_id, fields, at)

    # ---- reqMktData ------------------------------------------------------------------------

    def market_data(self, session: ClientSession, fields: list[str]) -> None:
        """1: 58, 81, the day so far at once, then per bucket (snapshot: 57 after)."""
        req_id = to_int(fields[2], "reqId")
        inst = self._instrument(session, req_id, fields, 3)
        if inst is None:
            return
        generic_text = fields[16]
        snapshot = to_bool(fields[17]) or to_bool(fields[18])
        generic = generic_ticks.parse_generic_ticks(generic_text, inst.sec_type)
        if generic is None:
            session.send(
                encode.error(req_id, 321, generic_ticks.refusal(generic_text, inst.sec_type))
            )
            return  # fmt: skip
        if snapshot and generic:
            session.send(encode.error(req_id, 321, SNAPSHOT_GENERIC))
            return
        session.send(encode.market_data_type(req_id, session.market_data_type))
        session.send(encode.tick_req_params(req_id, inst.min_tick))
        rt_volume = generic_ticks.RT_VOLUME in generic
        tape = self.core.tapes[inst.con_id]
        quote = tape.last_quote_before(self.core.now())
        if quote is not None:
            stats = self.core.market.day_stats(inst.con_id, quote, with_notional=rt_volume)
            if _session_over(tape, quote, self.core.now()):
                stats = replace(stats, prev_close=quote.last)  # the last close is that day's
            for message in tick_messages(req_id, inst, quote, stats):
                session.send(message)
            if rt_volume:
                for message in rt_volume_messages(req_id, inst, quote, stats):
                    session.send(message)
        if snapshot:
            session.send(encode.tick_snapshot_end(req_id))
            return
        self.core.market.subscribe(
            Subscription(session, req_id, inst.con_id, "ticks", rt_volume=rt_volume)
        )

    def cancel(self, session: ClientSession, fields: list[str]) -> None:
        self.core.market.unsubscribe(session, to_int(fields[2], "reqId"))

    def market_data_type(self, session: ClientSession, fields: list[str]) -> None:
        kind = to_int(fields[2], "marketDataType")
        session.market_data_type = kind if kind in (1, 2, 3, 4) else 1

    # ---- reqTickByTickData -----------------------------------------------------------------

    def tick_by_tick(self, session: ClientSession, fields: list[str]) -> None:
        """97: the last ``numberOfTicks`` ticks (at most 1000) first, then every new one."""
        req_id = to_int(fields[1], "reqId")
        inst = self._instrument(session, req_id, fields, 2)
        if inst is None:
            return
        kind = TBT_KINDS.get(fields[14])
        if kind is None:
            session.send(encode.error(req_id, 10189, "Failed to request tick-by-tick data."
                                      f"Invalid tick type: {fields[14]}"))  # fmt: skip
            return
        active = sum(1 for s in self.core.market.subscriptions.values() if s.kind == "tbt")
        if active >= MAX_TICK_BY_TICK:
            session.send(encode.error(req_id, 10190, TBT_LIMIT))
            return
        tbt = TickByTick(kind, to_bool(fields[16]))
        count = min(max(to_int(fields[15], "numberOfTicks"), 0), MAX_TICKS)
        if count:  # IB answers the backlog as historicalTicks{Last,BidAsk,} on the request id
            what = {1: "TRADES", 2: "TRADES", 3: "BID_ASK", 4: "MIDPOINT"}[kind]
            if not (inst.is_forex and what == "TRADES"):  # IDEALPRO prints no trades
                tape = self.core.tapes[inst.con_id]
                source = buckets_before(tape, self.core.now())
                session.send(_ticks_message(req_id, inst, tape, what, source, count,
                                            forward=False, since=0,
                                            ignore_size=tbt.ignore_size))  # fmt: skip
        self.core.market.subscribe(Subscription(session, req_id, inst.con_id, "tbt", tbt=tbt))

    def cancel_tick_by_tick(self, session: ClientSession, fields: list[str]) -> None:
        self.core.market.unsubscribe(session, to_int(fields[1], "reqId"))

    # ---- reqHistoricalTicks ----------------------------------------------------------------

    def historical_ticks(self, session: ClientSession, fields: list[str]) -> None:
        """96: up to 1000 ticks of one session from a start or up to an end time."""
        req_id = to_int(fields[1], "reqId")
        inst = self._instrument(session, req_id, fields, 2)
        if inst is None:
            return
        try:
            message = self._historical_ticks(req_id, inst, fields)
        except HistoryRequestError as exc:
            session.send(encode.error(req_id, exc.code, str(exc)))
            return
        session.send(message)

    def _historical_ticks(
        self, req_id: int, inst: Instrument, fields: list[str]
    ) -> list[FieldValue]:
        start_text, end_text = fields[15].strip(), fields[16].strip()
        count, what = to_int(fields[17], "numberOfTicks"), fields[18].upper()
        ignore_size = to_bool(fields[20])
        if bool(start_text) == bool(end_text):
            raise HistoryRequestError(
                162, HT_PREFIX + "Exactly one of start time and end time has to be defined."
            )
        if not 1 <= count <= MAX_TICKS:
            raise HistoryRequestError(
                162, HT_PREFIX + f"Number of ticks must be between 1 and {MAX_TICKS}: {count}"
            )
        if what not in ("TRADES", "BID_ASK", "MIDPOINT"):
            raise HistoryRequestError(162, HT_PREFIX + f"Invalid whatToShow: {fields[18]}")
        if what == "TRADES" and inst.is_forex:
            raise HistoryRequestError(162, HT_PREFIX + "No historical market data for "
                                      f"{inst.local_symbol}/CASH@IDEALPRO Last 0")  # fmt: skip
        tape = self.core.tapes[inst.con_id]
        now = self.core.now()
        if start_text:
            start = _parse_time(start_text, now, inst.time_zone, "startDateTime")
            source = buckets_between(tape, start, now - BUCKET + 1)
        else:
            start = 0
            source = buckets_before(tape, _parse_time(end_text, now, inst.time_zone,
                                                      "endDateTime"))  # fmt: skip
        return _ticks_message(req_id, inst, tape, what, source, count, forward=bool(start_text),
                              since=start, ignore_size=ignore_size)  # fmt: skip


def _ticks_message(req_id: int, inst: Instrument, tape: Tape, what: str, source: Iterator[Quote],
                   count: int, *, forward: bool, since: int,
                   ignore_size: bool) -> list[FieldValue]:  # fmt: skip
    """One complete historicalTicks* message of ``what`` from the buckets of ``source``."""
    if what == "TRADES":
        printed = _collect(tape, source, trades, count, forward, since=since)
        exchange = inst.primary_exchange or inst.exchange
        return encode_ticks.historical_ticks_last(req_id, printed, exchange, True)
    quoted = _collect(tape, source, lambda q: quotes(inst, q), count, forward, since=since,
                      ignore_size=ignore_size and what == "BID_ASK")  # fmt: skip
    if what == "BID_ASK":
        return encode_ticks.historical_ticks_bid_ask(req_id, quoted, True)
    return encode_ticks.historical_ticks_mid(req_id, quoted, True)


def _session_over(tape: Tape, quote: Quote, now: int) -> bool:
    """Whether ``quote`` was the last bucket of a session that has ended by ``now``."""
    end = tape.session_end(quote.bucket_start)
    return end is not None and quote.bucket_start + BUCKET == end <= now


def _parse_time(text: str, now: int, tz: str, name: str) -> int:
    try:
        return parse_end(text, now, tz)
    except HistoryRequestError as exc:
        raise HistoryRequestError(162, HT_PREFIX + f"Invalid {name}: {text}") from exc


def _collect(tape: Tape, source: Iterator[Quote], make: Callable[[Quote], list[T]], count: int,
             forward: bool, *, since: int, ignore_size: bool = False) -> list[T]:  # fmt: skip
    """The first (``forward``) or last ``count`` ticks of one session, oldest first.

    IB returns ticks of a single trading session per request; ``ignore_size`` drops
    quotes whose prices did not change (a change of size alone).
    """
    chunks: list[list[T]] = []
    total = 0
    first: Quote | None = None
    for n, quote in enumerate(source):
        if first is None:
            first = quote
        elif not tape.same_session(first.bucket_start, quote.bucket_start) or n >= MAX_SCAN:
            break
        chunk = [t for t in make(quote) if t.time >= since]
        chunks.append(chunk)
        total += len(chunk)
        if total >= count + (count if ignore_size else 0):
            break
    ordered = [t for chunk in (chunks if forward else chunks[::-1]) for t in chunk]
    if ignore_size:
        ordered = [
            t for n, t in enumerate(ordered) if n == 0 or _prices(t) != _prices(ordered[n - 1])
        ]
    return ordered[:count] if forward else ordered[-count:]


def _prices(t: object) -> tuple[float, float]:
    assert isinstance(t, BidAsk)
    return t.bid, t.ask
