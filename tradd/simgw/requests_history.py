"""Historical-data requests: bars (20/25), real-time bars (50/51), head timestamp (87/90).

Every refusal goes out on the request's own id with IB's code, so the client's call
ends (ib_async and ib_insync resolve a request on an error carrying its id).
"""

from __future__ import annotations

from tradd.simgw import encode
from tradd.simgw.contracts import Instrument
from tradd.simgw.core import Core
from tradd.simgw.history import (
    HistoryRequestError,
    bars_between,
    format_bar_time,
    format_range_time,
    parse_end,
    range_start,
)
from tradd.simgw.history_extra import head_timestamp, historical_schedule
from tradd.simgw.history_rules import (
    DAY,
    VALIDATING,
    WHAT_TO_SHOW,
    check_request,
    check_served,
    check_step,
    no_data,
    refuse,
)
from tradd.simgw.lookup import one_instrument
from tradd.simgw.market import KeepUpToDate, Subscription
from tradd.simgw.orders import to_int
from tradd.simgw.routing import Route, Routes, ignore
from tradd.simgw.session import ClientSession
from tradd.simgw.wire import FieldValue

REALTIME_WHAT = frozenset({"TRADES", "MIDPOINT", "BID", "ASK"})
UPDATABLE = frozenset({"TRADES", "MIDPOINT", "BID", "ASK"})


class HistoryRequests:
    def __init__(self, core: Core) -> None:
        self.core = core

    def routes(self) -> Routes:
        return {
            20: Route("reqHistoricalData", 22, self.historical_data),
            25: Route("cancelHistoricalData", 3, self.cancel),
            50: Route("reqRealTimeBars", 17, self.realtime_bars),
            51: Route("cancelRealTimeBars", 3, self.cancel),
            87: Route("reqHeadTimeStamp", 18, self.head_timestamp),
            90: Route("cancelHeadTimeStamp", 2, ignore),
        }

    def _instrument(
        self, session: ClientSession, req_id: int, fields: list[str], at: int
    ) -> Instrument | None:
        return one_instrument(self.core.book, session, req_id, fields, at)

    def historical_data(self, session: ClientSession, fields: list[str]) -> None:
        """20: completed bars up to the end; ending now, also the bar in progress (as TWS)."""
        req_id = to_int(fields[1], "reqId")
        inst = self._instrument(session, req_id, fields, 2)
        if inst is None:
            return
        violation = self.core.pacing.check(tuple(fields[2:21]), (inst.con_id, fields[19]))
        if violation is not None:
            session.send(encode.error(req_id, 162, violation))
            return
        try:
            self._serve_bars(session, req_id, inst, fields)
        except HistoryRequestError as exc:
            session.send(encode.error(req_id, exc.code, str(exc)))

    def _serve_bars(
        self, session: ClientSession, req_id: int, inst: Instrument, fields: list[str]
    ) -> None:
        end_text, size_text, duration = fields[15], fields[16], fields[17]
        what = fields[19].upper()  # TWS reads whatToShow in any case (real-time bars: exact)
        keep = fields[21] not in ("0", "")
        tape = self.core.tapes[inst.con_id]
        tz = inst.time_zone
        now = self.core.now()
        end = parse_end(end_text, now, tz)
        fmt = to_int(fields[20], "formatDate")
        size = check_request(what, size_text, duration, end_text, fmt)
        if what == "SCHEDULE":
            session.send(historical_schedule(req_id, tape, range_start(tape, end, duration), end))
            return
        check_served(what, inst.sec_type, inst.symbol, size)
        check_step(size, duration)
        _check_keep(keep, end_text, size, what)
        start = range_start(tape, end, duration)
        bars = bars_between(tape, size, start, end, partial=end >= now, what=what)
        fmt = fmt or 1
        rows: list[list[FieldValue]] = [
            [format_bar_time(b.start, size, tz, fmt), b.open, b.high, b.low, b.close,
             b.volume, b.wap, b.count]
            for b in bars
        ]  # fmt: skip
        session.send(encode.historical_data(
            req_id, format_range_time(start, tz), format_range_time(end, tz), rows))  # fmt: skip
        if keep:
            last = bars[-1] if bars and bars[-1].start + size > end else None
            history = KeepUpToDate(size, fmt, last, what)
            self.core.market.subscribe(Subscription(session, req_id, inst.con_id, "history",
                                                    history))  # fmt: skip

    def cancel(self, session: ClientSession, fields: list[str]) -> None:
        self.core.market.unsubscribe(session, to_int(fields[2], "reqId"))

    def realtime_bars(self, session: ClientSession, fields: list[str]) -> None:
        """50: five-second bars of TRADES, MIDPOINT, BID or ASK (no trades on forex)."""
        req_id = to_int(fields[2], "reqId")
        inst = self._instrument(session, req_id, fields, 3)
        if inst is None:
            return
        what = fields[16]
        if to_int(fields[15], "barSize") != 5:
            session.send(encode.error(req_id, 420, "Invalid Real-time Query:bar size must be 5"))
        elif what not in REALTIME_WHAT:
            session.send(encode.error(req_id, 321, f"{VALIDATING}What to show value of {what} "
                                                   "rejected."))  # fmt: skip
        elif what == "TRADES" and inst.is_forex:
            session.send(encode.error(req_id, 162, no_data(what, "CASH", inst.symbol, 5)))
        else:
            self.core.market.subscribe(
                Subscription(session, req_id, inst.con_id, "bars", what=what)
            )

    def head_timestamp(self, session: ClientSession, fields: list[str]) -> None:
        """87: the start of the earliest bar of the series, as 88."""
        req_id = to_int(fields[1], "reqId")
        inst = self._instrument(session, req_id, fields, 2)
        if inst is None:
            return
        what, fmt = fields[16].upper(), to_int(fields[17], "formatDate") or 1
        try:
            if what not in WHAT_TO_SHOW or what == "SCHEDULE":
                raise refuse(f"What to show value of {what} rejected.")
            check_served(what, inst.sec_type, inst.symbol, DAY)
        except HistoryRequestError as exc:
            session.send(encode.error(req_id, exc.code, str(exc)))
            return
        session.send(head_timestamp(req_id, self.core.tapes[inst.con_id], fmt))


def _check_keep(keep: bool, end_text: str, size: int, what: str) -> None:
    """keepUpToDate: ending now, bars of 5 seconds or more, a series that updates."""
    if not keep:
        return
    if end_text.strip():
        raise refuse("End date not supported with live updates")
    if size < 5:
        raise refuse("Bar size under 5 secs not supported with live updates")
    if what not in UPDATABLE:
        raise refuse(f"What to show value of {what} not supported with live updates")
