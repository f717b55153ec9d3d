"""Contract requests: contract details with IB's dated trading hours.

History and real-time bars are in ``requests_history``; tickers, tick-by-tick and
historical ticks in ``requests_ticks``.
"""

from __future__ import annotations

from tradd.simgw import encode
from tradd.simgw.core import Core
from tradd.simgw.lookup import NO_SECURITY
from tradd.simgw.orders import contract_query, to_int
from tradd.simgw.routing import Route, Routes
from tradd.simgw.session import ClientSession
from tradd.simgw.sessions import ib_hours


class MarketRequests:
    def __init__(self, core: Core) -> None:
        self.core = core

    def routes(self) -> Routes:
        return {9: Route("reqContractDetails", 15, self.contract_details)}

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
