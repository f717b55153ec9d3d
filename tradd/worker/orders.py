"""The one path every order takes, and every order event back.

Out: trading gate (connection, stale data, stopping) -> risk gate -> ledger (the order,
its `orderRef` and the decision committed together) -> IB. Persisting before sending is
what makes orders idempotent: whatever happens after the commit, the next reconciliation
finds the ref at IB (adopt) or not (mark `NotSent`), and never sends it again.

Back: IB's order states are persisted and shown to Backtrader through the broker; fills
go through `Fills`. Both client libraries mark an order Cancelled on their own when an
error names it; tradd decides from the error code whether that is a rejection, a real
cancel, or a notice about an order that keeps working.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import structlog

from tradd.errors import TemporaryError
from tradd.ib.broker import IBBroker
from tradd.ib.codes import is_cancel_ack, is_notice
from tradd.ib.link import IBLink
from tradd.ib.orders import Accepted, OrderIntent, Refused, order_specs
from tradd.ib.types import Commission, Execution, Notice, OrderUpdate, Side
from tradd.persistence.book import Book
from tradd.persistence.ledger import Ledger
from tradd.persistence.models import OrderStatus
from tradd.persistence.orderrefs import parse_order_ref
from tradd.persistence.records import NewOrder, RiskDecisionInput
from tradd.records.events import EventKind
from tradd.risk import Decision, OrderRequest, Portfolio, RiskGate, TradingState
from tradd.worker.events import EventLog
from tradd.worker.fills import Fills
from tradd.worker.refusals import RefusalLog
from tradd.worker.stats import WorkerStats
from tradd.worker.working import WorkingOrders

log = structlog.get_logger("tradd.worker.orders")
ACKNOWLEDGED = frozenset({"PreSubmitted", "Submitted", "Filled", "PendingCancel"})
STATE_RULE = "TRADING_STATE"
"""The rule label of an order refused by a paused, flattened or halted strategy."""


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
    def close(self, symbols: tuple[str, ...], why: str) -> None: ...


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
        stats: WorkerStats | None = None,
    ) -> None:
        self.strategy, self._ledger, self._link, self.gate = strategy, ledger, link, gate
        self._events, self._failpoints = events, failpoints
        self.stats = stats or WorkerStats(monotonic)
        self._refusals = RefusalLog(monotonic=monotonic)
        self._state_refusing: tuple[TradingState, str] | None = None
        """The trading state whose refusals were last logged (logged once per state)."""
        self.context: TradingContext | None = None
        self._broker: IBBroker | None = None
        self.working = WorkingOrders()
        self.fills = Fills(ledger, self.working, commission_wait=commission_wait,
                           monotonic=monotonic, stats=self.stats)  # fmt: skip
        self.ib_ids: dict[int, str] = {}
        self._acknowledged: dict[str, None] = {}
        self._reports: dict[str, tuple[object, ...]] = {}
        """The last status report per order: the library repeats them (openOrder and
        orderStatus for one change), and a repeat is not worth a write transaction."""

    @property
    def broker(self) -> IBBroker | None:
        return self._broker

    @broker.setter
    def broker(self, broker: IBBroker) -> None:
        """Set once the broker exists (it needs this manager first)."""
        self._broker = self.fills.broker = broker

    @property
    def book(self) -> Book:
        return self.fills.book

    def risk_positions(self) -> dict[str, float]:
        """What the risk gate sees: the book, plus what working orders would add."""
        positions = {s: p.quantity for s, p in self.book.positions().items()}
        for symbol, quantity in self.working.exposure().items():
            positions[symbol] = positions.get(symbol, 0.0) + quantity
        return positions

    # -- out: the strategy's orders (OrderSink) ------------------------------------------
    def submit(self, intents: list[OrderIntent]) -> Accepted | Refused:
        return self.submit_checked(intents)[0]

    def submit_checked(
        self,
        intents: list[OrderIntent],
        blocked: str = "",
        note: str = "",
        client_ref: str | None = None,
    ) -> tuple[Accepted | Refused, Decision | None]:
        """`submit`, also answering with the risk decision (None: the trading gate refused
        first). `blocked`: the caller's own trading-gate refusal (an operator entry during a
        flatten); `note` ends the persisted decision's reason (who asked) and `client_ref`
        is stored with it (an operator entry's: tradd.worker.entry)."""
        lead = intents[0]
        request = OrderRequest(lead.symbol, lead.side, lead.quantity, lead.reference_price,
                               multiplier=self.book.multiplier(lead.symbol))  # fmt: skip
        blocked = blocked or self._context().blocked_reason()
        if blocked:
            self._record_refusal(request, "TRADING_GATE", blocked + note, client_ref)
            return Refused(blocked), None
        decision = self.gate.check_order(request, self._context().portfolio())
        if decision.by_state:  # paused or flattened: refused, but no breach to report
            self._record_refusal(request, STATE_RULE, decision.reason + note, client_ref)
            return Refused(decision.reason), decision
        if not decision.allowed:
            self._record(request, decision, note, client_ref)
            self._after_decision(request, decision)
            return Refused(decision.reason), decision
        d = _decision_input(request, decision, note, client_ref)
        result = self._send(intents, decision.approved_quantity, d)
        self._after_decision(request, decision)
        return result, decision

    def submit_system(
        self, symbol: str, side: Side, quantity: float, price: float, why: str
    ) -> Accepted | Refused:
        """A flatten or risk close: passes the gate as a system order, never refused by it."""
        request = OrderRequest(symbol, side, quantity, price, system=True,
                               multiplier=self.book.multiplier(symbol))  # fmt: skip
        if not self._link.usable:
            reason = f"cannot send the {why} order now: not connected ({self._link.state})"
            self._record_refusal(request, "TRADING_GATE", reason)
            return Refused(reason)
        decision = self.gate.check_order(request, self._context().portfolio())
        intent = OrderIntent(symbol, side, quantity, "MKT", None, None, "DAY", price)
        result = self._send([intent], quantity, _decision_input(request, decision))
        if isinstance(result, Accepted) and self._broker is not None:
            self._broker.track_system_order(result.refs[0], intent, why)
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
        orders = [NewOrder(it.symbol, it.side, quantity, it.order_type, it.limit_price,
                           it.stop_price, it.tif, parent_index=it.parent_index)
                  for it in intents]  # fmt: skip
        refs = [r.order_ref for r in self._ledger.create_orders(orders, decision)]
        self.stats.decision(decision.action, decision.rule)
        for ref, it in zip(refs, intents, strict=True):
            self.working.add(ref, it.symbol, it.side, quantity, it.parent_index is not None)
        self._failpoints.hit("after_persist")
        specs = order_specs(intents, refs, quantity, self._link.client.account)
        try:
            ids = self._link.place(specs)
        except TemporaryError as exc:
            # Maybe sent, maybe not: left `Created` for the next reconciliation to decide.
            log.error("order send failed", order_refs=refs, error=str(exc))
            return Refused(f"sending to IB failed ({exc}); the order will be reconciled")
        self.ib_ids.update(zip(ids, refs, strict=True))
        self.stats.submitted(len(refs), after_bar=decision.action != "SYSTEM")
        self._failpoints.hit("after_send")
        log.info("order sent", order_ref=refs[0], legs=len(refs), symbol=intents[0].symbol,
                 side=intents[0].side, quantity=quantity, type=intents[0].order_type)  # fmt: skip
        return Accepted(refs, quantity)

    def _after_decision(self, request: OrderRequest, decision: Decision) -> None:
        for hit in decision.alerts:
            self._events.emit(EventKind.RISK_BREACH, "warning", hit.message, rule=str(hit.rule),
                              action=hit.action, symbol=request.symbol)  # fmt: skip
        if decision.blocked or decision.resized:
            rule = ",".join(str(h.rule) for h in decision.hits) or None
            self._events.emit(EventKind.RISK_BREACH, "warning", decision.reason, rule=rule,
                              symbol=request.symbol, verdict=decision.verdict)  # fmt: skip
        if decision.close_symbols:
            self._context().close(decision.close_symbols, f"risk: {decision.reason}")

    def close_now(self, symbols: list[str], why: str) -> list[str]:
        """Market orders taking each named position of the book to zero (the caller made
        sure nothing of these symbols is still working or unbooked)."""
        refs = []
        prices = self._context().portfolio().prices
        for symbol in symbols:
            position = self.book.position(symbol)
            if position.is_flat:
                continue
            side: Side = "SELL" if position.quantity > 0 else "BUY"
            price = prices.get(symbol) or position.avg_price
            result = self.submit_system(symbol, side, abs(position.quantity), price, why)
            if isinstance(result, Accepted):
                refs.extend(result.refs)
        return refs

    def _context(self) -> TradingContext:
        assert self.context is not None, "OrderManager.context is set by the worker"
        return self.context

    def _record(
        self, request: OrderRequest, decision: Decision, note: str = "", ref: str | None = None
    ) -> None:
        """A refused order's decision (an accepted one is stored with its orders)."""
        d = _decision_input(request, decision, note, ref)
        self._ledger.record_risk_decision(**asdict(d))
        self.stats.decision(d.action, d.rule)

    def _record_refusal(
        self, request: OrderRequest, rule: str, reason: str, ref: str | None = None
    ) -> None:
        d = RiskDecisionInput("BLOCKED", reason, str(self.gate.state), rule, request.symbol,
                              request.side, request.quantity, 0.0, ref)  # fmt: skip
        self._ledger.record_risk_decision(**asdict(d))
        self.stats.decision("BLOCKED", rule)
        if rule != STATE_RULE:
            self._refusals.refused(request.symbol, reason)
        elif (self.gate.state, self.gate.reason) != self._state_refusing:
            self._state_refusing = (self.gate.state, self.gate.reason)  # once per state
            log.info("orders refused by the trading state", symbol=request.symbol,
                     state=str(self.gate.state), reason=self.gate.reason)  # fmt: skip

    # -- back: IB's order events ----------------------------------------------------------
    def ours(self, order_ref: str) -> bool:
        parsed = parse_order_ref(order_ref)
        return parsed is not None and parsed[0] == self.strategy

    def on_order(self, update: OrderUpdate) -> None:
        ref = update.order_ref
        if not self.ours(ref):
            return
        if update.ib_order_id:
            self.ib_ids[update.ib_order_id] = ref
        if update.status in ("Cancelled", "Inactive") and update.error_code:
            if is_notice(update.error_code):
                return  # the library's guess: the order is still working at IB
            if not is_cancel_ack(update.error_code) and ref not in self._acknowledged:
                self._reject(ref, update.message, update.error_code)
                return
        if update.status in ACKNOWLEDGED:
            self._acknowledged[ref] = None
        report = (update.status, update.filled, update.remaining, update.avg_fill_price,
                  update.ib_order_id, update.perm_id, update.message)  # fmt: skip
        if self._reports.get(ref) == report:
            return
        self._reports[ref] = report
        self.working.update(ref, update, lambda: self._booked(ref))
        self._ledger.update_order(
            ref, status=update.status, filled=update.filled, remaining=update.remaining,
            avg_fill_price=update.avg_fill_price or None, ib_order_id=update.ib_order_id or None,
            perm_id=update.perm_id or None, message=update.message or None,
        )  # fmt: skip
        self.stats.finished(ref, update.status)
        if self._broker is not None:
            self._broker.order_changed(update)

    def _booked(self, ref: str) -> float:
        """What the ledger holds of the order's fills (an order adopted: rare, so a scan)."""
        return sum(f.quantity for f in self._ledger.fills() if f.order_ref == ref)

    def on_notice(self, notice: Notice) -> None:
        """IB refused one of our orders with an error the library may not turn into a
        status (ib_insync treats 110 as a warning, ib_async parks 321 as ValidationError)."""
        ref = self.ib_ids.get(notice.req_id)
        code = notice.code
        if ref is None or is_notice(code) or is_cancel_ack(code):
            return
        if ref not in self._acknowledged:
            self._reject(ref, f"{code} {notice.message}", code)

    def _reject(self, order_ref: str, reason: str, code: int) -> None:
        record = self._ledger.order(order_ref)
        if record is None or record.is_terminal:
            return
        self._ledger.update_order(order_ref, status=OrderStatus.REJECTED, filled=record.filled,
                                  remaining=record.remaining, avg_fill_price=None,
                                  message=reason)  # fmt: skip
        self.stats.finished(order_ref, OrderStatus.REJECTED)
        self.working.finish(order_ref)
        if self._broker is not None:
            margin = code == 201 and "margin" in reason.lower()
            self._broker.order_rejected(order_ref, reason, margin=margin)
        self._events.emit(EventKind.ORDER_REJECTED, "warning", f"IB rejected {order_ref}: {reason}",
                          order_ref=order_ref, code=code)  # fmt: skip

    def mark(self, order_ref: str, status: str, reason: str) -> bool:
        """Close an order the gateway does not know (never sent, or gone while down);
        False when it was already closed."""
        record = self._ledger.order(order_ref)
        if record is None or record.is_terminal:
            return False
        self._ledger.update_order(order_ref, status=status, filled=record.filled,
                                  remaining=record.remaining,
                                  avg_fill_price=record.avg_fill_price, message=reason)  # fmt: skip
        self.stats.finished(order_ref, status)
        self.working.finish(order_ref)
        if self._broker is not None:
            self._broker.order_rejected(order_ref, reason)
        return True

    # -- back: fills -----------------------------------------------------------------------
    def on_execution(self, execution: Execution, commission: Commission | None = None) -> None:
        if self.ours(execution.order_ref):
            self.fills.on_execution(execution, commission)

    def on_commission(self, commission: Commission) -> None:
        self.fills.on_commission(commission)

    def expire_pending(self) -> float:
        return self.fills.expire_pending()

    # -- memory ----------------------------------------------------------------------------
    def trim(self, keep: int) -> None:
        """Forget all but the newest `keep` finished orders' ids and reports, and fills, in
        memory: a worker must not grow with every order (the ledger keeps them all)."""
        live = set(self.working.unsettled())
        for cache in (self._acknowledged, self._reports):
            _keep_newest(cache, keep, live)
        self.working.trim(keep)
        for ib_id in list(self.ib_ids)[: max(len(self.ib_ids) - keep, 0)]:
            if self.ib_ids[ib_id] not in live:
                del self.ib_ids[ib_id]
        self.fills.trim(keep)

    def live_ib_ids(self) -> set[int]:
        live = set(self.working.unsettled())
        return {ib_id for ib_id, ref in self.ib_ids.items() if ref in live}


def _keep_newest(cache: dict[str, Any], keep: int, live: set[str]) -> None:
    for key in list(cache)[: max(len(cache) - keep, 0)]:
        if key not in live:
            del cache[key]


def _decision_input(
    request: OrderRequest, decision: Decision, note: str = "", ref: str | None = None
) -> RiskDecisionInput:
    return RiskDecisionInput(
        decision.verdict, (decision.reason or "approved") + note, str(decision.state),
        ",".join(h.rule for h in decision.hits) or None, request.symbol, request.side,
        decision.requested_quantity, decision.approved_quantity, ref,
    )  # fmt: skip
