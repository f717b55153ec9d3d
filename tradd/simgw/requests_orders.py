"""Order requests: place (new, modify, what-if), cancel, global cancel."""

from __future__ import annotations

from tradd.simgw import encode
from tradd.simgw.account import AccountState, Position, Valuation
from tradd.simgw.commissions import commission_for
from tradd.simgw.contracts import Instrument
from tradd.simgw.core import Core
from tradd.simgw.encode import OrderState
from tradd.simgw.order_rules import check_order
from tradd.simgw.orders import OrderRejected, PlaceOrder, SimOrder, parse_place_order, to_int
from tradd.simgw.routing import Route, Routes
from tradd.simgw.session import ClientSession


class OrderRequests:
    def __init__(self, core: Core) -> None:
        self.core = core

    def routes(self) -> Routes:
        return {
            3: Route("placeOrder", 30, self.place),
            4: Route("cancelOrder", 3, self.cancel),
            58: Route("reqGlobalCancel", 2, self.global_cancel),
        }

    def place(self, session: ClientSession, fields: list[str]) -> None:
        """3: a new order, a modification of a working one, or a what-if."""
        assert session.client_id is not None
        req = parse_place_order(fields, session.version)
        client_id = session.client_id
        state = self.core.state
        existing = state.find_order(client_id, req.order_id)
        try:
            matches = self.core.book.find(req.contract)
            if len(matches) != 1:
                raise OrderRejected(200, "No security definition has been found for the request")
            warnings = check_order(req, matches[0], self.core.now(), self.core.tz)
            if req.what_if:
                self._what_if(session, req, matches[0])
                return
            if existing is not None:
                self.core.exchange.modify(existing, req, matches[0])
                return
            if req.order_id <= state.max_order_id.get(client_id, 0):
                raise OrderRejected(103, f"Duplicate order id {req.order_id}")
            if req.parent_id and state.find_order(client_id, req.parent_id) is None:
                raise OrderRejected(
                    201, f"Order rejected - reason:parent order {req.parent_id} not found"
                )
            if self.core.faults.reject_next:
                raise OrderRejected(*self.core.faults.reject_next.popleft())
            self._check_margin(req, matches[0])
            state.note_order_id(client_id, req.order_id)
            for code, text in warnings:  # accepted, with IB's warning first
                session.send(encode.error(req.order_id, code, text))
            order = self.core.exchange.place(req, client_id, matches[0], self.core.take_chunks())
            self.core.log_event("simgw.order_placed", client_id=client_id,
                                order_id=order.order_id, perm_id=order.perm_id,
                                ref=order.order_ref, type=order.order_type,
                                action=order.action, quantity=order.total_qty)  # fmt: skip
        except OrderRejected as exc:
            state.note_order_id(client_id, req.order_id)
            self.core.mark_dirty()
            session.send(encode.error(req.order_id, exc.code, str(exc)))
            self.core.log_event("simgw.order_rejected", client_id=client_id,
                                order_id=req.order_id, ref=req.order_ref, code=exc.code,
                                reason=str(exc))  # fmt: skip

    def cancel(self, session: ClientSession, fields: list[str]) -> None:
        """4: cancel one of this client's orders (clientId 0 may cancel any)."""
        assert session.client_id is not None
        order_id = to_int(fields[2], "orderId")
        order = self._find(session.client_id, order_id)
        if order is None:
            session.send(encode.error(
                order_id, 10147, f"OrderId {order_id} that needs to be cancelled is not found."
            ))  # fmt: skip
            return
        try:
            self.core.exchange.cancel(order, "cancelled by the API client")
        except OrderRejected as exc:
            session.send(encode.error(order_id, exc.code, str(exc)))

    def global_cancel(self, session: ClientSession, fields: list[str]) -> None:
        self.core.exchange.cancel_all()

    def _find(self, client_id: int, order_id: int) -> SimOrder | None:
        found = self.core.state.find_order(client_id, order_id)
        if found is None and client_id == 0:
            found = next(
                (o for o in self.core.state.orders.values() if o.order_id == order_id), None
            )
        return found

    def _check_margin(self, req: PlaceOrder, inst: Instrument) -> None:
        """Reject an order the account could not carry if it filled at the current price."""
        after = self._valuation_after(req, inst)
        if after is not None and after.available_funds < 0:
            raise OrderRejected(
                201, "Order rejected - reason:YOUR ORDER IS NOT ACCEPTED. IN ORDER TO OBTAIN "
                f"THE DESIRED POSITION YOUR EQUITY WITH LOAN VALUE [{after.net_liquidation:.2f} "
                f"USD] MUST EXCEED THE INITIAL MARGIN [{after.init_margin:.2f} USD]"
            )  # fmt: skip

    def _valuation_after(self, req: PlaceOrder, inst: Instrument) -> Valuation | None:
        con_id = inst.con_id
        price = req.lmt_price or req.aux_price or self.core.mark(con_id)
        if not price:
            return None
        account = self.core.state.account
        marks = self.core.all_marks() | {con_id: self.core.mark(con_id) or price}
        multiplier = inst.value_multiplier
        multipliers = {c: self.core.instruments[c].value_multiplier
                       for c in account.positions} | {con_id: multiplier}  # fmt: skip
        current = account.positions.get(con_id)
        quantity = (current.quantity if current else 0.0) + (
            req.total_qty if req.action == "BUY" else -req.total_qty
        )
        trial = AccountState(account.account, account.cash, dict(account.positions))
        trial.positions[con_id] = Position(quantity, price)
        trial.cash -= (quantity - (current.quantity if current else 0.0)) * price * multiplier
        return trial.valuation(marks, multipliers)

    def _what_if(self, session: ClientSession, req: PlaceOrder, inst: Instrument) -> None:
        """Answer with margins before/after and the commission; change nothing."""
        con_id = inst.con_id
        before = self.core.valuation()
        after = self._valuation_after(req, inst) or before
        price = req.lmt_price or req.aux_price or self.core.mark(con_id)
        fee = commission_for(inst, req.total_qty, price)
        probe = SimOrder(
            req.order_id, session.client_id or 0, 0, con_id, req.action, req.total_qty,
            req.order_type, req.lmt_price, req.aux_price, req.tif, self.core.account,
            req.order_ref, req.parent_id, req.oca_group, req.outside_rth, True,
            status="PreSubmitted",
        )  # fmt: skip
        state = OrderState(
            True,
            init_before=round(before.init_margin, 2), maint_before=round(before.init_margin, 2),
            equity_before=round(before.net_liquidation, 2),
            init_change=round(after.init_margin - before.init_margin, 2),
            maint_change=round(after.init_margin - before.init_margin, 2),
            equity_change=round(after.net_liquidation - before.net_liquidation, 2),
            init_after=round(after.init_margin, 2), maint_after=round(after.init_margin, 2),
            equity_after=round(after.net_liquidation, 2),
            commission=fee.amount, min_commission=fee.amount, max_commission=fee.amount,
            commission_currency=fee.currency,
        )  # fmt: skip
        session.send(encode.open_order(probe, self.core.instruments[con_id], state))
