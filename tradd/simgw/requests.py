"""Incoming message dispatch: field-count checks, then one handler per message id.

Anything a client sends that cannot be understood is answered with TWS error
320 ("Error reading request") naming the message and the problem; the
connection and the simulator carry on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import structlog

from tradd.simgw import encode
from tradd.simgw.core import Core
from tradd.simgw.orders import FieldError
from tradd.simgw.requests_account import AccountRequests
from tradd.simgw.requests_market import MarketRequests
from tradd.simgw.requests_orders import OrderRequests
from tradd.simgw.session import ClientSession

log = structlog.get_logger("tradd.simgw.requests")

Handler = Callable[[ClientSession, list[str]], None]
START_API = 71


@dataclass(frozen=True)
class Route:
    name: str
    min_fields: int
    handler: Handler


class Dispatcher:
    def __init__(self, core: Core) -> None:
        self.core = core
        acct, mkt, orders = AccountRequests(core), MarketRequests(core), OrderRequests(core)
        self.routes: dict[int, Route] = {
            71: Route("startApi", 3, acct.start_api),
            8: Route("reqIds", 3, acct.req_ids),
            17: Route("reqManagedAccts", 2, acct.managed_accounts),
            49: Route("reqCurrentTime", 2, acct.current_time),
            61: Route("reqPositions", 2, acct.positions),
            64: Route("cancelPositions", 2, _ignore),
            6: Route("reqAccountUpdates", 4, acct.account_updates),
            76: Route("reqAccountUpdatesMulti", 6, acct.account_updates_multi),
            77: Route("cancelAccountUpdatesMulti", 3, acct.cancel_account_updates_multi),
            62: Route("reqAccountSummary", 5, acct.account_summary),
            63: Route("cancelAccountSummary", 3, _ignore),
            5: Route("reqOpenOrders", 2, acct.open_orders),
            16: Route("reqAllOpenOrders", 2, acct.all_open_orders),
            15: Route("reqAutoOpenOrders", 3, acct.auto_open_orders),
            99: Route("reqCompletedOrders", 2, acct.completed_orders),
            7: Route("reqExecutions", 10, acct.executions),
            9: Route("reqContractDetails", 15, mkt.contract_details),
            20: Route("reqHistoricalData", 22, mkt.historical_data),
            25: Route("cancelHistoricalData", 3, mkt.cancel_historical),
            50: Route("reqRealTimeBars", 17, mkt.realtime_bars),
            51: Route("cancelRealTimeBars", 3, mkt.cancel_realtime_bars),
            1: Route("reqMktData", 19, mkt.market_data),
            2: Route("cancelMktData", 3, mkt.cancel_market_data),
            59: Route("reqMarketDataType", 3, mkt.market_data_type),
            3: Route("placeOrder", 30, orders.place),
            4: Route("cancelOrder", 3, orders.cancel),
            58: Route("reqGlobalCancel", 2, orders.global_cancel),
        }

    def __call__(self, session: ClientSession, fields: list[str]) -> None:
        if not fields:
            self._reject(session, "empty message")
            return
        try:
            msg_id = int(fields[0])
        except ValueError:
            self._reject(session, f"message id {fields[0]!r} is not a number")
            return
        route = self.routes.get(msg_id)
        if route is None:
            self._reject(session, f"unknown message id {msg_id}")
            return
        if session.client_id is None and msg_id != START_API:
            self._reject(session, f"{route.name} before startApi")
            return
        if msg_id in self.core.faults.ignore:
            return
        if len(fields) < route.min_fields:
            self._reject(
                session, f"{route.name} has {len(fields)} fields, expected {route.min_fields}"
            )
            return
        try:
            route.handler(session, fields)
            self.core.persist()  # with --state, an accepted order is on disk before we go on
        except FieldError as exc:
            self._reject(session, f"{route.name}: {exc}")
        except Exception:  # a simulator bug must not take the gateway down
            log.exception("simgw.handler_failed", message=route.name, fields=fields[:40])
            self._reject(session, f"{route.name}: internal simulator error")

    def _reject(self, session: ClientSession, problem: str) -> None:
        log.warning("simgw.bad_request", peer=session.peer, client_id=session.client_id,
                    problem=problem)  # fmt: skip
        session.send(encode.error(-1, 320, f"Error reading request: {problem}"))


def _ignore(session: ClientSession, fields: list[str]) -> None:
    """Requests TWS acknowledges with nothing."""
