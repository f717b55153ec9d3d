"""Contract and market-data requests: contract details and ticks (history: requests_history)."""

from __future__ import annotations

from tradd.simgw import encode
from tradd.simgw.contracts import Instrument
from tradd.simgw.core import Core
from tradd.simgw.market import Subscription, tick_messages
from tradd.simgw.orders import contract_query, to_int
from tradd.simgw.routing import Route, Routes
from tradd.simgw.session import ClientSession
from tradd.simgw.sessions import ib_hours

NO_SECURITY = "No security definition has been found for the request"


class MarketRequests:
    def __init__(self, core: Core) -> None:
        self.core = core

    def routes(self) -> Routes:
        return {
            9: Route("reqContractDetails", 15, self.contract_details),
            1: Route("reqMktData", 19, self.market_data),
            2: Route("cancelMktData", 3, self.cancel_market_data),
            59: Route("reqMarketDataType", 3, self.market_data_type),
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
        now = self.core.now()
        for inst in matches:
            tape = self.core.tapes[inst.con_id]
            trading = ib_hours(tape, now, liquid=False)
            session.send(
                encode.contract_data(req_id, inst, trading, ib_hours(tape, now, liquid=True))
            )
        session.send(encode.contract_data_end(req_id))

    def market_data(self, session: ClientSession, fields: list[str]) -> None:
        """1: 58, 81, the latest quote at once, then a quote per bucket (snapshot: 57 after)."""
        req_id = to_int(fields[2], "reqId")
        inst = self._instrument(session, req_id, fields, 3)
        if inst is None:
            return
        snapshot = fields[17] not in ("0", "") or fields[18] not in ("0", "")
        session.send(encode.market_data_type(req_id, session.market_data_type))
        session.send(encode.tick_req_params(req_id, inst.min_tick))
        quote = self.core.tapes[inst.con_id].last_quote_before(self.core.now())
        if quote is not None:
            for message in tick_messages(req_id, quote, quote.volume):
                session.send(message)
        if snapshot:
            session.send(encode.tick_snapshot_end(req_id))
            return
        self.core.market.subscribe(Subscription(session, req_id, inst.con_id, "ticks"))

    def cancel_market_data(self, session: ClientSession, fields: list[str]) -> None:
        self.core.market.unsubscribe(session, to_int(fields[2], "reqId"))

    def market_data_type(self, session: ClientSession, fields: list[str]) -> None:
        kind = to_int(fields[2], "marketDataType")
        session.market_data_type = kind if kind in (1, 2, 3, 4) else 1
