"""Requests the simulated account is not entitled to, refused as IB refuses them.

A real paper account without market-depth, fundamentals, Wall Street Horizon or
advisor (FA) permissions gets a specific error on the request's own id, and a
client library ends the pending call on it. The simulator does the same, with
IB's codes and texts, so code that rehearses here meets the same refusals it
will meet live. Cancels are accepted without a reply, as TWS accepts them.

This family is registered first: requests implemented elsewhere (head time
stamp, historical ticks, tick-by-tick, P&L) override the placeholder refusals
given here for them.
"""

from __future__ import annotations

from tradd.simgw import encode
from tradd.simgw.contracts import ContractQuery
from tradd.simgw.core import Core
from tradd.simgw.lookup import NO_SECURITY
from tradd.simgw.orders import contract_query, to_int
from tradd.simgw.routing import Handler, Route, Routes, ignore
from tradd.simgw.session import ClientSession

NO_DEPTH = "Deep market data is not supported for this combination of security type/exchange"
NO_FUNDAMENTALS = "Fundamentals data is not allowed."
NO_NEWS_FEED = "News feed is not allowed."
NO_ARTICLE = "Failed to request news article: No data available"
NOT_FA = (
    "Error validating request.-'{tag}' : cause - FA data operations ignored for non FA customers."
)
NO_TBT = (
    "Requested market data requires additional subscription for API.See link in "
    "'Market Data Connections' dialog for more details."
)
HMDS_NO_DATA = "Historical Market Data Service error message:HMDS query returned no data: {what}"
NO_PNL = "Error validating request.-'{tag}' : cause - P&L subscriptions are not available"

# Refusals keyed by message id: (name, fewest fields, index of the request id, code, text).
PLAIN: dict[int, tuple[str, int, int, int, str]] = {
    84: ("reqNewsArticle", 4, 1, 10172, NO_ARTICLE),
    100: ("reqWshMetaData", 2, 1, 10276, NO_NEWS_FEED),
    102: ("reqWshEventData", 3, 1, 10276, NO_NEWS_FEED),
    19: ("replaceFA", 5, 4, 321, NOT_FA.format(tag="b1")),
    92: ("reqPnL", 4, 1, 321, NO_PNL.format(tag="bp")),
    94: ("reqPnLSingle", 5, 1, 321, NO_PNL.format(tag="bq")),
}
CANCELS: dict[int, tuple[str, int]] = {
    11: ("cancelMktDepth", 3),
    53: ("cancelFundamentalData", 3),
    56: ("cancelCalculateImpliedVolatility", 3),
    57: ("cancelCalculateOptionPrice", 3),
    90: ("cancelHeadTimeStamp", 2),
    93: ("cancelPnL", 2),
    95: ("cancelPnLSingle", 2),
    98: ("cancelTickByTickData", 2),
    101: ("cancelWshMetaData", 2),
    103: ("cancelWshEventData", 2),
}
# Vendor-authentication handshakes (ISV keys): TWS ignores them unless the API is
# configured for them, which a gateway for our clients never is.
NOT_APPLICABLE: dict[int, tuple[str, int]] = {
    65: ("verifyRequest", 2),
    66: ("verifyMessage", 2),
    72: ("verifyAndAuthRequest", 2),
    73: ("verifyAndAuthMessage", 2),
}


class RefusedRequests:
    def __init__(self, core: Core) -> None:
        self.core = core

    def routes(self) -> Routes:
        routes: Routes = {
            10: Route("reqMktDepth", 15, self.market_depth),
            18: Route("requestFA", 3, self.request_fa),
            21: Route("exerciseOptions", 14, self.no_options(2)),
            52: Route("reqFundamentalData", 12, self.fundamental_data),
            54: Route("calculateImpliedVolatility", 15, self.no_options(2)),
            55: Route("calculateOptionPrice", 15, self.no_options(2)),
            87: Route("reqHeadTimeStamp", 17, self.hmds_no_data),
            96: Route("reqHistoricalTicks", 17, self.hmds_no_data),
            97: Route("reqTickByTickData", 15, self.tick_by_tick),
        }
        for msg_id, (name, fewest, at, code, text) in PLAIN.items():
            routes[msg_id] = Route(name, fewest, self.refuse(at, code, text))
        for msg_id, (name, fewest) in (CANCELS | NOT_APPLICABLE).items():
            routes[msg_id] = Route(name, fewest, ignore)
        return routes

    def refuse(self, at: int, code: int, text: str) -> Handler:
        def handler(session: ClientSession, fields: list[str]) -> None:
            session.send(encode.error(to_int(fields[at], "reqId"), code, text))

        return handler

    def _known(self, session: ClientSession, req_id: int, query: ContractQuery) -> bool:
        """Whether the contract exists here; if not, TWS's 200 has been sent."""
        if len(self.core.book.find(query)) == 1:
            return True
        session.send(encode.error(req_id, 200, NO_SECURITY))
        return False

    def market_depth(self, session: ClientSession, fields: list[str]) -> None:
        """10: the account has no depth subscriptions, so IB answers 10092 (SMART too)."""
        req_id = to_int(fields[2], "reqId")
        if self._known(session, req_id, contract_query(fields, 3)):
            session.send(encode.error(req_id, 10092, NO_DEPTH))

    def request_fa(self, session: ClientSession, fields: list[str]) -> None:
        """18: carries no request id, so IB's refusal comes on -1."""
        session.send(encode.error(-1, 321, NOT_FA.format(tag="b9")))

    def fundamental_data(self, session: ClientSession, fields: list[str]) -> None:
        """52: its contract block is eight fields (no expiry, strike, right, multiplier)."""
        req_id = to_int(fields[2], "reqId")
        query = ContractQuery(
            con_id=to_int(fields[3], "conId"),
            symbol=fields[4].upper(),
            sec_type=fields[5].upper(),
            exchange=fields[6].upper(),
            primary_exchange=fields[7].upper(),
            currency=fields[8].upper(),
            local_symbol=fields[9],
        )
        if self._known(session, req_id, query):
            session.send(encode.error(req_id, 10358, NO_FUNDAMENTALS))

    def no_options(self, req_at: int) -> Handler:
        """Option analytics and exercise: no option is listed here, so no such contract."""

        def handler(session: ClientSession, fields: list[str]) -> None:
            session.send(encode.error(to_int(fields[req_at], "reqId"), 200, NO_SECURITY))

        return handler

    def hmds_no_data(self, session: ClientSession, fields: list[str]) -> None:
        """87/96 (placeholder until implemented): TWS's HMDS 162 on the request's id."""
        req_id = to_int(fields[1], "reqId")
        query = contract_query(fields, 2)
        if self._known(session, req_id, query):
            what = f"{query.symbol}@{query.exchange or 'SMART'}"
            session.send(encode.error(req_id, 162, HMDS_NO_DATA.format(what=what)))

    def tick_by_tick(self, session: ClientSession, fields: list[str]) -> None:
        """97 (placeholder until implemented): IB's refusal without a subscription."""
        req_id = to_int(fields[1], "reqId")
        if self._known(session, req_id, contract_query(fields, 2)):
            session.send(encode.error(req_id, 10089, NO_TBT))
