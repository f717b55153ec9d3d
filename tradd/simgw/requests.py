"""Incoming message dispatch: field-count checks, then one handler per message id.

Anything a client sends that cannot be understood is answered with TWS error
320 ("Error reading request") naming the message and the problem, on the
request's own id when that can be read (so the client's pending call ends) and
on -1 otherwise; the connection and the simulator carry on.
"""

from __future__ import annotations

import structlog

from tradd.simgw import encode
from tradd.simgw.core import Core
from tradd.simgw.orders import FieldError
from tradd.simgw.request_ids import request_id
from tradd.simgw.requests_account import AccountRequests
from tradd.simgw.requests_history import HistoryRequests
from tradd.simgw.requests_market import MarketRequests
from tradd.simgw.requests_orders import OrderRequests
from tradd.simgw.requests_pnl import PnLRequests
from tradd.simgw.requests_reference import ReferenceRequests
from tradd.simgw.requests_refused import RefusedRequests
from tradd.simgw.requests_ticks import TickRequests
from tradd.simgw.routing import Routes
from tradd.simgw.session import ClientSession

log = structlog.get_logger("tradd.simgw.requests")

START_API = 71


class Dispatcher:
    def __init__(self, core: Core) -> None:
        self.core = core
        self.routes: Routes = {}
        # Refusals and reference data first: a family registered later overrides them.
        families = (RefusedRequests(core), ReferenceRequests(core), AccountRequests(core),
                    MarketRequests(core), HistoryRequests(core), TickRequests(core),
                    PnLRequests(core), OrderRequests(core))  # fmt: skip
        for family in families:
            self.routes.update(family.routes())

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
            problem = f"{route.name} has {len(fields)} fields, expected {route.min_fields}"
            self._reject(session, problem, request_id(fields))
            return
        try:
            route.handler(session, fields)
            self.core.persist()  # with --state, an accepted order is on disk before we go on
        except FieldError as exc:
            self._reject(session, f"{route.name}: {exc}", request_id(fields))
        except Exception:  # a simulator bug must not take the gateway down
            log.exception("simgw.handler_failed", message=route.name, fields=fields[:40])
            self._reject(session, f"{route.name}: internal simulator error", request_id(fields))

    def _reject(self, session: ClientSession, problem: str, req_id: int = -1) -> None:
        """320, on the request's own id when it can be read (so the caller's wait ends)."""
        log.warning("simgw.bad_request", peer=session.peer, client_id=session.client_id,
                    problem=problem, req_id=req_id)  # fmt: skip
        session.send(encode.error(req_id, 320, f"Error reading request: {problem}"))
