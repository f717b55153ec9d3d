"""The one path every order takes, and every order event back.

Out: trading gate (connection, stale data, stopping) -> risk gate -> ledger (the order
and its `orderRef` committed) -> IB. Persisting before sending is what makes orders
idempotent: whatever happens after the commit, the next reconciliation finds the ref at
IB (adopt) or not (mark `NotSent`), and never sends it again.

Back: IB's order states and fills are persisted (fills deduplicated by execId) and then
shown to Backtrader through the broker. A fill waits briefly for its commission report
so the strategy's trade carries IB's real commission.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import structlog

from tradd.errors import TemporaryError
from tradd.ib.broker import IBBroker
from tradd.ib.link import IBLink
from tradd.ib.orders import Accepted, OrderIntent, Refused, order_specs
from tradd.ib.types import Commission, Execution, Notice, OrderUpdate, Side
from tradd.persistence.book import Book
from tradd.persistence.ledger import Ledger
from tradd.persistence.models import OrderStatus
from tradd.persistence.orderrefs import parse_order_ref
from tradd.persistence.records import FillRecord, NewOrder, RiskDecisionInput
from tradd.risk import Decision, OrderRequest, Portfolio, RiskGate
from tradd.worker.events import EventLog

log = structlog.get_logger("tradd.worker.orders")
ACKNOWLEDGED = frozenset({"PreSubmitted", "Submitted", "Filled", "PendingCancel"})
HARMLESS_CODES = frozenset({161, 202, 399, 404, 10147, 10148, 10167})
"""Errors about an order that do not mean IB refused it (cancel races, notices)."""


@dataclass(frozen=True)
class Failpoints:
    """Crash on purpose at a named step (tests of crash safety: `TRADD_FAILPOINTS`)."""

    names: frozenset[str] = frozenset()

    def hit(self, name: str) -> None:
        if name in self.names:
            os.kill(os.getpid(), signal.SIGKILL)


class TradingContext(Protocol):
    """What the manager asks the engine before each order."""

    def portfolio(self) -> Portfolio: ...
    def blocked_reason(self) -> str: ...


class OrderManager:
    def __init__(
        self,
        strategy: str,
        ledger: Ledger,
        link: IBLink,
        gate: RiskGate,
        events: EventLog,
        *,
        commission_wait: float,
        failpoints: Failpoints = Failpoints(),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.strategy, self._ledger, self._link, self.gate = strategy, ledger, link, gate
        self._events = events
        self.context: TradingContext | None = None
        self._commission_wait, self._failpoints, self._monotonic = (
            commission_wait,
            failpoints,
            monotonic,
        )
        self.broker: IBBroker | None = None
        """Set once the broker exists (it needs this manager first)."""
        self.book: Book = ledger.book()
        self.ib_ids: dict[int, str] = {}
        self._acknowledged: dict[str, None] = {}
        self._booked: dict[str, None] = {}
        """Exec ids booked by this process (insertion-ordered, so `trim` drops the oldest)."""
        self._pending: dict[str, tuple[FillRecord, Execution, float]] = {}
        self._reports: dict[str, tuple[object, ...]] = {}
        """The last status report seen per order: the library repeats them (openOrder and
        orderStatus for one change), and a repeat is not worth a write transaction."""

    # -- out: the strategy's orders (OrderSink) ------------------------------------------
    def submit(self, intents: list[OrderIntent]) -> Accepted | Refused:
        lead = intents[0]
        request = OrderRequest(lead.symbol, lead.side, lead.quantity, lead.reference_price)
        blocked = self._context().blocked_reason()
        if blocked:
            self._record_refusal(request, "TRADING_GATE", blocked)
            return Refused(blocked)
        decision = self.gate.check_order(request, self._context().portfolio())
        if not decision.allowed:
            self._record(request, decision)
            self._after_decision(request, decision)
            return Refused(decision.reason)
        result = self._send(intents, decision.approved_quantity, _decision_input(request, decision))
        self._after_decision(request, decision)
        return result

    def submit_system(
        self, symbol: str, side: Side, quantity: float, price: float, why: str
    ) -> Accepted | Refused:
        """A flatten or risk close: passes the gate as a system order, never refused by it."""
        request = OrderRequest(symbol, side, quantity, price, system=True)
        decision = self.gate.check_order(request, self._context().portfolio())
        intent = OrderIntent(symbol, side, quantity, "MKT", None, None, "DAY", price)
        if not self._link.usable:
            reason = f"cannot send the {why} order now: not connected ({self._link.state})"
            self._record_refusal(request, "TRADING_GATE", reason)
            return Refused(reason)
        result = self._send([intent], quantity, _decision_input(request, decision))
        log.warning("system order", why=why, symbol=symbol, side=side, quantity=quantity)
        return result

    def cancel(self, order_ref: str) -> bool:
        ib_id = next((i for i, r in self.ib_ids.items() if r == order_ref), None)
        if ib_id is None:
            record = self._ledger.order(order_ref)
            ib_id = record.ib_order_id if record else None
        if ib_id is None or not self._link.usable:
            return False
        try:
            return self._link.cancel(ib_id)
        except TemporaryError as exc:
            log.warning("cancel failed", order_ref=order_ref, error=str(exc))
            return False

    def _send(
        self, intents: list[OrderIntent], quantity: float, decision: RiskDecisionInput
    ) -> Accepted | Refused:
        """Commit the orders (with the decision that let them through), then send them."""
        records = self._ledger.create_orders(
            [
                NewOrder(
                    it.symbol,
                    it.side,
                    quantity,
                    it.order_type,
                    it.limit_price,
                    it.stop_price,
                    it.tif,
                    parent_index=it.parent_index,
                )
                for it in intents
            ],
            decision,
        )
        refs = [r.order_ref for r in records]
        self._failpoints.hit("after_persist")
        specs = order_specs(intents, refs, quantity, self._link.client.account)
        try:
            ids = self._link.place(specs)
        except (TemporaryError, ConnectionError, OSError) as exc:
            # Maybe sent, maybe not: left `Created` for the next reconciliation to decide.
            log.error("order send failed", order_refs=refs, error=repr(exc))
            return Refused(f"sending to IB failed ({exc}); the order will be reconciled")
        self.ib_ids.update(zip(ids, refs, strict=True))
        self._failpoints.hit("after_send")
        log.info(
            "order sent",
            order_ref=refs[0],
            legs=len(refs),
            symbol=intents[0].symbol,
            side=intents[0].side,
            quantity=quantity,
            type=intents[0].order_type,
        )
        return Accepted(refs, quantity)

    def _after_decision(self, request: OrderRequest, decision: Decision) -> None:
        for hit in decision.alerts:
            self._events.emit(
                "risk_breach",
                "warning",
                hit.message,
                rule=str(hit.rule),
                action=hit.action,
                symbol=request.symbol,
            )
        if decision.blocked or decision.resized:
            self._events.emit(
                "risk_breach",
                "warning",
                decision.reason,
                symbol=request.symbol,
                verdict=decision.verdict,
            )
        if decision.close_symbols:
            self.close_positions(decision.close_symbols, f"risk: {decision.reason}")

    def close_positions(self, symbols: tuple[str, ...] | list[str], why: str) -> list[str]:
        """Market orders taking each named position of this strategy to zero."""
        refs = []
        for symbol in symbols:
            qty = self.book.position(symbol).quantity
            if abs(qty) < 1e-9:
                continue
            side: Side = "SELL" if qty > 0 else "BUY"
            price = (
                self._context().portfolio().prices.get(symbol)
                or self.book.position(symbol).avg_price
            )
            result = self.submit_system(symbol, side, abs(qty), price, why)
            if isinstance(result, Accepted):
                refs.extend(result.refs)
        return refs

    def _context(self) -> TradingContext:
        assert self.context is not None, "OrderManager.context is set by the worker"
        return self.context

    def _record(self, request: OrderRequest, decision: Decision) -> None:
        """A refused order's decision (an accepted one is stored with its orders)."""
        d = _decision_input(request, decision)
        self._ledger.record_risk_decision(
            action=d.action, reason=d.reason, trading_state=d.trading_state, rule=d.rule,
            symbol=d.symbol, side=d.side, requested_qty=d.requested_qty,
            approved_qty=d.approved_qty,
        )  # fmt: skip

    def _record_refusal(self, request: OrderRequest, rule: str, reason: str) -> None:
        self._ledger.record_risk_decision(
            action="BLOCKED",
            reason=reason,
            trading_state=str(self.gate.state),
            rule=rule,
            symbol=request.symbol,
            side=request.side,
            requested_qty=request.quantity,
            approved_qty=0.0,
        )
        log.warning("order refused", symbol=request.symbol, reason=reason)

    # -- back: IB's order events ----------------------------------------------------------
    def ours(self, order_ref: str) -> bool:
        parsed = parse_order_ref(order_ref)
        return parsed is not None and parsed[0] == self.strategy

    def on_order(self, update: OrderUpdate) -> None:
        if not self.ours(update.order_ref):
            return
        if update.ib_order_id:
            self.ib_ids[update.ib_order_id] = update.order_ref
        if self._is_rejection(update):
            self._reject(update.order_ref, update.message, update.error_code)
            return
        if update.status in ACKNOWLEDGED:
            self._acknowledged[update.order_ref] = None
        report = (update.status, update.filled, update.remaining, update.avg_fill_price,
                  update.ib_order_id, update.perm_id, update.message)  # fmt: skip
        if self._reports.get(update.order_ref) == report:
            return
        self._reports[update.order_ref] = report
        self._ledger.update_order(
            update.order_ref,
            status=update.status,
            filled=update.filled,
            remaining=update.remaining,
            avg_fill_price=update.avg_fill_price or None,
            ib_order_id=update.ib_order_id or None,
            perm_id=update.perm_id or None,
            message=update.message or None,
        )
        if self.broker is not None:
            self.broker.order_changed(update)

    def _is_rejection(self, update: OrderUpdate) -> bool:
        return (
            update.status in ("Cancelled", "Inactive")
            and update.error_code > 0
            and update.error_code not in HARMLESS_CODES
            and update.order_ref not in self._acknowledged
        )

    def on_notice(self, notice: Notice) -> None:
        """IB refused one of our orders with an error the library may not turn into a
        status (ib_insync treats 110 as a warning, ib_async parks 321 as ValidationError)."""
        ref = self.ib_ids.get(notice.req_id)
        if ref is None or notice.code in HARMLESS_CODES or 2100 <= notice.code < 2200:
            return
        if ref not in self._acknowledged:
            self._reject(ref, f"{notice.code} {notice.message}", notice.code)

    def _reject(self, order_ref: str, reason: str, code: int) -> None:
        record = self._ledger.order(order_ref)
        if record is None or record.is_terminal:
            return
        self._ledger.update_order(
            order_ref,
            status=OrderStatus.REJECTED,
            filled=record.filled,
            remaining=record.remaining,
            avg_fill_price=None,
            message=reason,
        )
        margin = code == 201 and "margin" in reason.lower()
        if self.broker is not None:
            self.broker.order_rejected(order_ref, reason, margin=margin)
        self._events.emit(
            "order_rejected",
            "warning",
            f"IB rejected {order_ref}: {reason}",
            order_ref=order_ref,
            code=code,
        )

    def mark(self, order_ref: str, status: str, reason: str) -> None:
        """Close an order the gateway does not know (never sent, or gone while down)."""
        record = self._ledger.order(order_ref)
        if record is None or record.is_terminal:
            return
        self._ledger.update_order(
            order_ref,
            status=status,
            filled=record.filled,
            remaining=record.remaining,
            avg_fill_price=record.avg_fill_price,
            message=reason,
        )
        if self.broker is not None:
            self.broker.order_rejected(order_ref, reason)

    # -- back: fills and commissions ------------------------------------------------------
    def on_execution(self, execution: Execution, commission: Commission | None = None) -> None:
        if not self.ours(execution.order_ref):
            return
        if execution.exec_id in self._booked or execution.exec_id in self._pending:
            return
        fill = _fill_record(execution, commission)
        if not self._ledger.add_fill(fill):
            self._booked[execution.exec_id] = None  # booked before a restart, or a replay
            return
        if commission is not None:
            self._book(fill, execution, commission.commission)
        else:
            deadline = self._monotonic() + self._commission_wait
            self._pending[execution.exec_id] = (fill, execution, deadline)

    def on_commission(self, commission: Commission) -> None:
        pending = self._pending.pop(commission.exec_id, None)
        if pending is None and commission.exec_id not in self._booked:
            return  # not one of our fills
        self._ledger.set_commission(
            commission.exec_id, commission.commission, commission.realized_pnl
        )
        if pending is not None:
            self._book(pending[0], pending[1], commission.commission)
        else:
            fill = next((f for f in self._ledger.fills() if f.exec_id == commission.exec_id), None)
            if fill is not None:
                self.book.add_commission(fill.symbol, commission.commission)

    def expire_pending(self) -> float:
        """Book fills whose commission report is overdue; seconds until the next is due."""
        now = self._monotonic()
        for exec_id, (fill, execution, deadline) in list(self._pending.items()):
            if deadline <= now:
                del self._pending[exec_id]
                log.warning("fill booked without a commission report", exec_id=exec_id)
                self._book(fill, execution, 0.0)
        return min((d for _, _, d in self._pending.values()), default=now + 3600) - now

    def _book(self, fill: FillRecord, execution: Execution, commission: float) -> None:
        self._booked[fill.exec_id] = None
        self.book.apply(fill)
        if commission:
            self.book.add_commission(fill.symbol, commission)
        if self.broker is not None:
            self.broker.order_filled(execution, commission)
        log.info(
            "fill",
            order_ref=fill.order_ref,
            symbol=fill.symbol,
            side=fill.side,
            quantity=fill.quantity,
            price=fill.price,
            exec_id=fill.exec_id,
            commission=commission,
        )

    def trim(self, keep: int) -> None:
        """Forget all but the newest `keep` ids, acknowledgements and bookings in memory: a
        long-running worker must not grow with every order (the ledger keeps them all)."""
        for cache in (self.ib_ids, self._acknowledged, self._booked, self._reports):
            _keep_newest(cache, keep)

    def working_statuses(self) -> dict[str, str]:
        """This strategy's orders the ledger holds as not finished, with their status."""
        return {o.order_ref: o.status for o in self._ledger.orders(open_only=True)}


def _fill_record(execution: Execution, commission: Commission | None) -> FillRecord:
    return FillRecord(
        execution.exec_id,
        execution.order_ref,
        execution.symbol,
        execution.side,
        execution.quantity,
        execution.price,
        execution.time,
        execution.ib_order_id or None,
        execution.perm_id or None,
        execution.account or None,
        commission.commission if commission else None,
        commission.realized_pnl if commission else None,
    )


def _decision_input(request: OrderRequest, decision: Decision) -> RiskDecisionInput:
    return RiskDecisionInput(
        decision.verdict, decision.reason or "approved", str(decision.state),
        ",".join(h.rule for h in decision.hits) or None, request.symbol, request.side,
        decision.requested_quantity, decision.approved_quantity,
    )  # fmt: skip


def _keep_newest(cache: dict[Any, Any], keep: int) -> None:
    for key in list(cache)[: max(len(cache) - keep, 0)]:
        del cache[key]
