"""Connect-time and account requests: startApi, positions, account data, orders, executions."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from tradd.simgw import encode
from tradd.simgw.core import Core
from tradd.simgw.orders import to_int
from tradd.simgw.routing import Route, Routes, ignore
from tradd.simgw.session import ClientSession

FARM_OK = (
    (2104, "Market data farm connection is OK:usfarm"),
    (2106, "HMDS data farm connection is OK:ushmds"),
    (2158, "Sec-def data farm connection is OK:secdefnj"),
)
MAX_ACCOUNT_SUMMARIES = 2
SUMMARY_LIMIT = (
    "Error processing request.-'b1' : cause - Maximum number of account summary requests "
    "exceeded; desubscribe to previous request first"
)
CLIENT_ID_IN_USE = (
    "Unable to connect as the client id is already in use. Retry with a unique client id."
)


class AccountRequests:
    def __init__(self, core: Core) -> None:
        self.core = core

    def routes(self) -> Routes:
        return {
            71: Route("startApi", 3, self.start_api),
            8: Route("reqIds", 3, self.req_ids),
            17: Route("reqManagedAccts", 2, self.managed_accounts),
            49: Route("reqCurrentTime", 2, self.current_time),
            61: Route("reqPositions", 2, self.positions),
            64: Route("cancelPositions", 2, ignore),
            6: Route("reqAccountUpdates", 4, self.account_updates),
            76: Route("reqAccountUpdatesMulti", 6, self.account_updates_multi),
            77: Route("cancelAccountUpdatesMulti", 3, self.cancel_account_updates_multi),
            62: Route("reqAccountSummary", 5, self.account_summary),
            63: Route("cancelAccountSummary", 3, self.cancel_account_summary),
            5: Route("reqOpenOrders", 2, self.open_orders),
            16: Route("reqAllOpenOrders", 2, self.all_open_orders),
            15: Route("reqAutoOpenOrders", 3, self.auto_open_orders),
            99: Route("reqCompletedOrders", 2, self.completed_orders),
            7: Route("reqExecutions", 10, self.executions),
        }

    def start_api(self, session: ClientSession, fields: list[str]) -> None:
        """71: bind the clientId, then accounts, nextValidId and farm notices, as TWS does."""
        client_id = to_int(fields[2], "clientId")
        if session.client_id is not None:
            session.send(encode.error(-1, 320, "Error reading request: startApi sent twice"))
            return
        if client_id in self.core.sessions:
            session.send(encode.error(-1, 326, CLIENT_ID_IN_USE))
            session.close()
            self.core.log_event("simgw.client_id_in_use", client_id=client_id, peer=session.peer)
            return
        session.client_id = client_id
        self.core.sessions[client_id] = session
        session.send(encode.managed_accounts(self.core.account))
        session.send(encode.next_valid_id(self.core.state.next_valid_id(client_id)))
        for code, text in FARM_OK:
            session.send(encode.error(-1, code, text))
        self.core.log_event("simgw.client_connected", client_id=client_id, peer=session.peer)

    def req_ids(self, session: ClientSession, fields: list[str]) -> None:
        assert session.client_id is not None
        session.send(encode.next_valid_id(self.core.state.next_valid_id(session.client_id)))

    def managed_accounts(self, session: ClientSession, fields: list[str]) -> None:
        session.send(encode.managed_accounts(self.core.account))

    def current_time(self, session: ClientSession, fields: list[str]) -> None:
        session.send(encode.current_time(self.core.now()))

    def positions(self, session: ClientSession, fields: list[str]) -> None:
        """61: every position, 62, then a 61 whenever a position changes."""
        session.positions_updates = True
        for con_id, pos in self.core.state.account.positions.items():
            session.send(encode.position(self.core.account, self.core.instruments[con_id], pos))
        session.send(encode.position_end())

    def account_updates(self, session: ClientSession, fields: list[str]) -> None:
        """6: subscribe (values, portfolio, time, then 54) or unsubscribe."""
        session.account_updates = fields[2] not in ("0", "")
        if not session.account_updates:
            return
        self.core.push_account_values(only=session)
        for con_id, pos in self.core.state.account.positions.items():
            inst = self.core.instruments[con_id]
            mark = self.core.mark(con_id)
            session.send(encode.portfolio(self.core.account, inst, pos, mark, 0.0))
        session.send(encode.account_download_end(self.core.account))

    def account_updates_multi(self, session: ClientSession, fields: list[str]) -> None:
        req_id = to_int(fields[2], "reqId")
        session.account_multi.add(req_id)
        for key, value, ccy in self.core.account_values():
            session.send(encode.account_update_multi(req_id, self.core.account, key, value, ccy))
        session.send(encode.account_update_multi_end(req_id))

    def cancel_account_updates_multi(self, session: ClientSession, fields: list[str]) -> None:
        session.account_multi.discard(to_int(fields[2], "reqId"))

    def account_summary(self, session: ClientSession, fields: list[str]) -> None:
        """62: one row per requested tag or ledger group, then the end marker.

        TWS serves at most two account-summary subscriptions at a time (across its
        clients); a third is refused with 322 until one is cancelled.
        """
        req_id = to_int(fields[2], "reqId")
        active = sum(len(s.account_summaries) for s in self.core.sessions.values())
        if req_id not in session.account_summaries and active >= MAX_ACCOUNT_SUMMARIES:
            session.send(encode.error(req_id, 322, SUMMARY_LIMIT))
            return
        session.account_summaries[req_id] = fields[4]
        self.core.push_account_summary(session, req_id)
        session.send(encode.account_summary_end(req_id))

    def cancel_account_summary(self, session: ClientSession, fields: list[str]) -> None:
        session.account_summaries.pop(to_int(fields[2], "reqId"), None)

    def open_orders(self, session: ClientSession, fields: list[str]) -> None:
        """5: this client's working orders (all of them for clientId 0)."""
        self._send_open(session, everyone=session.client_id == 0)

    def all_open_orders(self, session: ClientSession, fields: list[str]) -> None:
        self._send_open(session, everyone=True)

    def _send_open(self, session: ClientSession, *, everyone: bool) -> None:
        for order in self.core.state.orders.values():
            if order.is_done or not order.transmit:
                continue
            if everyone or order.client_id == session.client_id:
                inst = self.core.instruments[order.con_id]
                session.send(encode.open_order(order, inst))
                session.send(encode.order_status(order))
        session.send(encode.open_order_end())

    def auto_open_orders(self, session: ClientSession, fields: list[str]) -> None:
        """15: accepted; clientId 0 is always bound to every client's orders here."""

    def completed_orders(self, session: ClientSession, fields: list[str]) -> None:
        """99: today's finished orders of the account."""
        for order in self.core.state.orders.values():
            if order.is_done:
                inst = self.core.instruments[order.con_id]
                stamp = self._stamp(order.completed_at or order.placed_at)
                session.send(encode.completed_order(order, inst, stamp))
        session.send(encode.completed_orders_end())

    def executions(self, session: ClientSession, fields: list[str]) -> None:
        """7: the day's executions, each followed by its commission report.

        Filters (clientId, account, symbol, secType, side) apply when given; an
        empty filter returns every execution of the account, so a reconnecting
        client always sees what it missed.
        """
        req_id = to_int(fields[2], "reqId")
        client_filter = to_int(fields[3], "clientId")
        account, symbol, sec_type, side = fields[4], fields[6].upper(), fields[7], fields[9]
        for ex in self.core.state.executions:
            inst = self.core.instruments[ex.con_id]
            if (
                (client_filter and ex.client_id != client_filter)
                or (account and ex.account != account)
                or (symbol and inst.symbol != symbol)
                or (sec_type and inst.sec_type != sec_type)
                or (side and ex.side[:1] != side[:1].upper())
            ):
                continue
            session.send(encode.exec_details(req_id, inst, ex, self.core.tz))
            session.send(encode.commission_report(ex, inst.currency))
        session.send(encode.exec_details_end(req_id))

    def _stamp(self, epoch: int) -> str:
        return f"{datetime.fromtimestamp(epoch, ZoneInfo(self.core.tz)):%Y%m%d %H:%M:%S} US/Eastern"
