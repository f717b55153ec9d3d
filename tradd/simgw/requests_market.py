"""Contract and market-data requests: contract details, history, real-time bars.

Ticks (reqMktData, tick-by-tick, historical ticks) are in ``requests_ticks``.
"""

from __future__ import annotations

from tradd.simgw import encode
from tradd.simgw.contracts import Instrument
from tradd.simgw.core import Core
from tradd.simgw.history import (
    HistoryRequestError,
    bar_seconds,
    bars_between,
    format_bar_time,
    format_range_time,
    parse_end,
    range_start,
)
from tradd.simgw.market import KeepUpToDate, Subscription
from tradd.simgw.orders import contract_query, to_int
from tradd.simgw.routing import Route, Routes
from tradd.simgw.session import ClientSession
from tradd.simgw.wire import FieldValue

NO_SECURITY = "No security definition has been found for the request"
TRADING_HOURS = "09:30-16:00"


class MarketRequests:
    def __init__(self, core: Core) -> None:
        self.core = core

    def routes(self) -> Routes:
        return {
            9: Route("reqContractDetails", 15, self.contract_details),
            20: Route("reqHistoricalData", 22, self.historical_data),
            25: Route("cancelHistoricalData", 3, self.cancel_historical),
            50: Route("reqRealTimeBars", 17, self.realtime_bars),
            51: Route("cancelRealTimeBars", 3, self.cancel_realtime_bars),
        }

    def _instrument(
        self, session: ClientSession, req_id: int, fields: list[str], at: int
    ) -> Instrument | None:
        matches = self.core.book.find(contract_query(fields, at))
        if len(matches) != 1:
            session.send(encode.error(req_id, 200, NO_SECURITY))
            return None
        return matches[0]

    def contract_details(self, session: ClientSession, fields: list[str]) -> None:
        """9: every match (a unique one qualifies), or 200 when nothing matches."""
        req_id = to_int(fields[2], "reqId")
        matches = self.core.book.find(contract_query(fields, 3))
        if not matches:
            session.send(encode.error(req_id, 200, NO_SECURITY))
            return
        for inst in matches:
            session.send(encode.contract_data(req_id, inst, TRADING_HOURS))
        session.send(encode.contract_data_end(req_id))

    def historical_data(self, session: ClientSession, fields: list[str]) -> None:
        """20: completed bars up to now; with keepUpToDate also the bar in progress, then 90s."""
        req_id = to_int(fields[1], "reqId")
        inst = self._instrument(session, req_id, fields, 2)
        if inst is None:
            return
        end_text, size_text, duration, format_date = fields[15], fields[16], fields[17], fields[20]
        keep = fields[21] not in ("0", "")
        violation = self.core.pacing.check(tuple(fields[2:21]), (inst.con_id, fields[19]))
        if violation is not None:
            session.send(encode.error(req_id, 162, violation))
            return
        tape = self.core.tapes[inst.con_id]
        try:
            size = bar_seconds(size_text)
            end = parse_end(end_text, self.core.now(), inst.time_zone)
            if keep and end_text.strip():
                raise HistoryRequestError(
                    321, "Error validating request:-'endDateTime' must be empty with keepUpToDate"
                )
            start = range_start(tape, end, duration)
            bars = bars_between(tape, size, start, end, partial=keep)
        except HistoryRequestError as exc:
            session.send(encode.error(req_id, exc.code, str(exc)))
            return
        fmt = to_int(format_date, "formatDate") or 1
        rows: list[list[FieldValue]] = [
            [format_bar_time(b.start, size, inst.time_zone, fmt), b.open, b.high, b.low, b.close,
             b.volume, b.wap, b.count]
            for b in bars
        ]  # fmt: skip
        tz = inst.time_zone
        session.send(encode.historical_data(
            req_id, format_range_time(start, tz), format_range_time(end, tz), rows))  # fmt: skip
        if keep:
            last = bars[-1] if bars and bars[-1].start + size > end else None
            history = KeepUpToDate(size, fmt, last)
            self.core.market.subscribe(Subscription(session, req_id, inst.con_id, "history",
                                                    history))  # fmt: skip

    def cancel_historical(self, session: ClientSession, fields: list[str]) -> None:
        self.core.market.unsubscribe(session, to_int(fields[2], "reqId"))

    def realtime_bars(self, session: ClientSession, fields: list[str]) -> None:
        """50: five-second bars (TRADES, MIDPOINT, BID and ASK all stream the trade tape)."""
        req_id = to_int(fields[2], "reqId")
        inst = self._instrument(session, req_id, fields, 3)
        if inst is None:
            return
        if to_int(fields[15], "barSize") != 5:
            session.send(encode.error(req_id, 420, "Invalid Real-time Query:bar size must be 5"))
            return
        self.core.market.subscribe(Subscription(session, req_id, inst.con_id, "bars"))

    def cancel_realtime_bars(self, session: ClientSession, fields: list[str]) -> None:
        self.core.market.unsubscribe(session, to_int(fields[2], "reqId"))
