"""P&L subscriptions: reqPnL (92 -> pnl 94) and reqPnLSingle (94 -> pnlSingle 95).

A subscription gets the current figures at once, then an update whenever they
change: per five-second bucket as marks move, and right after a fill (held back
with the fill reports while fills are withheld). Values come from ``pnl``,
which reads the account the rest of the simulator keeps, so reqPnL agrees with
the account values and the portfolio.
"""

from __future__ import annotations

from tradd.simgw import encode, encode_ticks
from tradd.simgw.core import Core
from tradd.simgw.market import Subscription
from tradd.simgw.orders import to_int
from tradd.simgw.pnl import account_pnl, position_pnl
from tradd.simgw.routing import Route, Routes
from tradd.simgw.session import ClientSession
from tradd.simgw.wire import FieldValue

ACCOUNT_CON_ID = 0  # market subscriptions are keyed by conId; reqPnL has none


class PnLRequests:
    def __init__(self, core: Core) -> None:
        self.core = core
        core.market.on_published = self.publish
        core.on_account_change = self.publish

    def routes(self) -> Routes:
        return {
            92: Route("reqPnL", 3, self.req_pnl),
            93: Route("cancelPnL", 2, self.cancel),
            94: Route("reqPnLSingle", 5, self.req_pnl_single),
            95: Route("cancelPnLSingle", 2, self.cancel),
        }

    def _account_ok(self, session: ClientSession, req_id: int, account: str) -> bool:
        if account == self.core.account:
            return True
        session.send(encode.error(req_id, 321, "Error validating request.-'cy' : cause - "
                                  f"Invalid account code '{account}'."))  # fmt: skip
        return False

    def req_pnl(self, session: ClientSession, fields: list[str]) -> None:
        """92: reqId, account, modelCode."""
        req_id = to_int(fields[1], "reqId")
        if not self._account_ok(session, req_id, fields[2]):
            return
        sub = Subscription(session, req_id, ACCOUNT_CON_ID, "pnl")
        self.core.market.subscribe(sub)
        self._update(sub)

    def req_pnl_single(self, session: ClientSession, fields: list[str]) -> None:
        """94: reqId, account, modelCode, conId; an unknown conId is error 200."""
        req_id = to_int(fields[1], "reqId")
        if not self._account_ok(session, req_id, fields[2]):
            return
        con_id = to_int(fields[4], "conId")
        if con_id not in self.core.instruments:
            session.send(encode.error(req_id, 200, "No security definition has been found "
                                      "for the request"))  # fmt: skip
            return
        sub = Subscription(session, req_id, con_id, "pnl_single")
        self.core.market.subscribe(sub)
        self._update(sub)

    def cancel(self, session: ClientSession, fields: list[str]) -> None:
        self.core.market.unsubscribe(session, to_int(fields[1], "reqId"))

    def publish(self) -> None:
        """Send every P&L subscription whose figures changed."""
        for sub in list(self.core.market.subscriptions.values()):
            if sub.kind in ("pnl", "pnl_single") and sub.session.open:
                self._update(sub)

    def _update(self, sub: Subscription) -> None:
        message = self._message(sub)
        values = tuple(message[2:])
        if values != sub.last_sent:
            sub.last_sent = values
            sub.session.send(message)

    def _message(self, sub: Subscription) -> list[FieldValue]:
        state = self.core.state
        if sub.kind == "pnl":
            p = account_pnl(state, self.core.all_marks() | self._traded_marks())
            return encode_ticks.pnl(sub.req_id, p.daily, p.unrealized, p.realized)
        s = position_pnl(state, sub.con_id, self.core.mark(sub.con_id))
        realized: FieldValue = encode_ticks.UNSET_DOUBLE if s.realized is None else s.realized
        return encode_ticks.pnl_single(sub.req_id, s.position, s.daily, s.unrealized, realized,
                                       s.value)  # fmt: skip

    def _traded_marks(self) -> dict[int, float]:
        return {e.con_id: self.core.mark(e.con_id) for e in self.core.state.executions}
