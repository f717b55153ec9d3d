"""Operator entries (`enter`): an order the operator (or `tradd scan --execute`) asks for.

It goes the way every strategy order goes (trading gate -> risk gate -> ledger -> IB,
`OrderManager.submit_checked`), so it is risk-checked, persisted before it is sent and
reconciled, never re-sent, after a crash. It is then shown to the Backtrader strategy as an
order of its own (`IBBroker.track_system_order`, as flattens are): its fill moves the
strategy's `self.position`, and the strategy exits it with its own logic.

Sizing: `quantity` whole shares, or `value` / the latest price rounded down to whole shares
(as the risk gate resizes: fractional shares are not sent). The order is a market order
valued at that latest price (what the risk rules measure).

`client_ref` makes a request safe to repeat: the same ref again returns the first reply and
places nothing. Only replies after which an order may exist are remembered (executed; a
send that failed half-way; an internal error once the order was persisted). A reply that
placed nothing (blocked by a gate, e.g. paused or over a limit; no price yet; not
connected) is not: the same ref may be asked again, and `tradd scan --execute --from-run`
(ref `<run>:<symbol>`) retries it. The ref is also written into the persisted risk
decision's reason, so a ref a restarted worker has not seen is looked up there (`LOOKBACK`;
only decisions that let an order through count) and refused as used: the retry a timeout
invites, after the supervisor restarted a hung worker, must not place the entry again.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import structlog

from tradd.errors import TemporaryError
from tradd.ib.orders import Accepted, OrderIntent
from tradd.ib.types import Side
from tradd.records.entry import entry_problem
from tradd.records.events import EventKind
from tradd.risk import Decision, TradingState
from tradd.risk.rules import whole_shares
from tradd.worker.channel import CommandError

if TYPE_CHECKING:
    from tradd.persistence.records import RiskDecisionRecord
    from tradd.worker.engine import WorkerEngine

log = structlog.get_logger("tradd.worker.entry")
REMEMBERED = 1000
"""client_refs a worker remembers (the oldest are forgotten: a worker must not grow)."""
Outcome = dict[str, Any] | CommandError
LOOKBACK = timedelta(days=7)
"""How far back the ledger is searched for a client_ref this process has not seen."""


@dataclass(frozen=True)
class EntryRequest:
    symbol: str
    side: str
    quantity: float | None
    value: float | None
    requested_by: str
    client_ref: str | None

    @property
    def key(self) -> tuple[object, ...]:
        """What makes two requests with one client_ref the same request."""
        return self.symbol, self.side, self.quantity, self.value


def parse_entry(args: dict[str, Any], symbols: tuple[str, ...]) -> EntryRequest:
    """The channel's arguments, checked again here (the daemon's checks, from
    tradd.records.entry): the worker's socket is its own door."""
    symbol = args.get("symbol")
    if symbol not in symbols:
        raise CommandError(
            "bad_argument", f"symbol {symbol!r}: not traded by this strategy ({', '.join(symbols)})"
        )
    problem = entry_problem(args)
    if problem is not None:
        raise CommandError("bad_argument", problem)
    quantity, value = args.get("quantity"), args.get("value")
    return EntryRequest(
        str(symbol), str(args["side"]), None if quantity is None else float(quantity),
        None if value is None else float(value), args.get("requested_by") or "operator",
        args.get("client_ref"),
    )  # fmt: skip


def ref_note(requested_by: str, client_ref: str | None) -> str:
    """What a persisted decision's reason ends with; `Entries` finds earlier refs by it."""
    return f"; operator entry by {requested_by}" + (_ref_tag(client_ref) if client_ref else "")


def _ref_tag(client_ref: str) -> str:
    return f" (client_ref {client_ref})"


class Entries:
    """The worker's operator entries, and the replies remembered by client_ref. `clock` is
    the ledger's (it stamps decisions with wall time, not the market's)."""

    def __init__(
        self, engine: WorkerEngine, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._engine, self._clock = engine, clock
        self._done: dict[str, tuple[tuple[object, ...], Outcome]] = {}

    def enter(self, args: dict[str, Any]) -> dict[str, Any]:
        request = parse_entry(args, self._engine.strategy.symbols)
        ref = request.client_ref
        if ref is not None and ref not in self._done:
            earlier = self._earlier(ref)
            if earlier is not None:
                self._remember(ref, request.key, earlier)
        if ref is not None and ref in self._done:
            key, outcome = self._done[ref]
            if key != request.key:
                raise CommandError("conflict", f"client_ref {ref!r} was used for another entry")
        else:
            outcome, order_may_exist = self._outcome(request)
            if ref is not None and order_may_exist:
                self._remember(ref, request.key, outcome)
        if isinstance(outcome, CommandError):
            raise outcome
        return dict(outcome)

    def _earlier(self, ref: str) -> CommandError | None:
        """The refusal for a ref an earlier worker process placed an order with (its
        decision names it); a ref whose decisions all refused may be used again."""
        try:
            found = self._order_decision(ref)
        except TemporaryError as exc:
            raise CommandError("unavailable", f"client_ref {ref!r} not checked: {exc}") from None
        if found is None:
            return None
        return CommandError(
            "conflict",
            f"client_ref {ref!r} was used before this worker restarted ({found.action} "
            f"{found.side} {found.requested_qty or 0:g} {found.symbol}, order "
            f"{found.order_ref}): not placed "
            "again; see `tradctl status`",
        )

    def _order_decision(self, ref: str) -> RiskDecisionRecord | None:
        return self._engine.ledger.latest_order_decision(_ref_tag(ref), self._clock() - LOOKBACK)

    def _outcome(self, request: EntryRequest) -> tuple[Outcome, bool]:
        """The reply (or the error that is the reply once the order may have gone out), and
        whether an order may exist after it: only then is it remembered by client_ref."""
        quantity, price = self._size(request)  # raises: nothing placed, nothing remembered
        try:
            reply = self._place(request, quantity, price)
        except CommandError as exc:  # the send failed half-way: maybe sent
            return exc, True
        except Exception as exc:
            log.exception("operator entry failed", symbol=request.symbol)
            return self._failed(request, exc)
        return reply, reply["status"] == "executed"

    def _failed(self, request: EntryRequest, exc: Exception) -> tuple[CommandError, bool]:
        """An unexpected error: an order may exist once its decision is persisted (they
        commit together, and nothing is sent before), else nothing was placed."""
        ref = request.client_ref
        try:
            persisted = ref is None or self._order_decision(ref) is not None
        except Exception:  # the ledger may be what failed: assume the order exists
            persisted = True
        if not persisted:
            return CommandError("internal", f"enter: {exc!r}; nothing placed"), False
        return CommandError("internal", f"enter: {exc!r}; the order may have been placed"), True

    def _size(self, request: EntryRequest) -> tuple[float, float]:
        """Shares and the price valuing them; errors here placed nothing (not remembered)."""
        engine = self._engine
        if not engine.link.usable:
            reason = f"{engine.link.state}: {engine.link.manager.reason}"
            raise CommandError("unavailable", f"not connected to IB ({reason})")
        if not engine.ready_count:
            raise CommandError("unavailable", "not reconciled with IB yet")
        prices = engine.store.last_price if engine.store is not None else {}
        price = prices.get(request.symbol)
        if price is None or not math.isfinite(price) or price <= 0:
            raise CommandError("unavailable", f"no price for {request.symbol} yet")
        if request.quantity is not None:
            return request.quantity, price
        assert request.value is not None
        quantity = whole_shares(request.value / price)  # 2.9999999996 shares are 3
        if quantity < 1:
            raise CommandError(
                "bad_argument", f"value {request.value:g} buys 0 shares at {price:g}"
            )
        return quantity, price

    def _place(self, request: EntryRequest, quantity: float, price: float) -> dict[str, Any]:
        engine = self._engine
        side: Side = "BUY" if request.side == "BUY" else "SELL"
        intent = OrderIntent(request.symbol, side, quantity, "MKT", None, None, "DAY", price)
        flatten = engine.operator.flatten
        blocked = f"closing positions ({flatten.requested_by})" if flatten is not None else ""
        note = ref_note(request.requested_by, request.client_ref)
        result, decision = engine.manager.submit_checked([intent], blocked, note)
        head = {"strategy": engine.strategy.name, "symbol": request.symbol, "side": side}
        if isinstance(result, Accepted):
            return self._executed(request, head, intent, result, price)
        if decision is not None and decision.allowed:  # passed the gates, the send failed
            raise CommandError(
                "unavailable",
                f"{result.reason}: the entry may have been placed; it is in the ledger and is "
                "never re-sent (`tradctl status` shows the position)",
            )
        log.warning("operator entry blocked", requested_by=request.requested_by,
                    reason=result.reason, **head)  # fmt: skip
        return {"status": "blocked", **head, "quantity": quantity, "price": price,
                "reason": result.reason, "rules": _rules(decision, result.reason)}  # fmt: skip

    def _executed(self, request: EntryRequest, head: dict[str, Any], intent: OrderIntent,
                  result: Accepted, price: float) -> dict[str, Any]:  # fmt: skip
        engine, ref = self._engine, result.refs[0]
        why = f"operator entry by {request.requested_by}"
        if engine.broker is not None:
            engine.broker.track_system_order(ref, _sized(intent, result.quantity), why)
        quantity = result.quantity
        engine.events.emit(
            EventKind.OPERATOR_ENTRY, "info",
            f"{why}: {intent.side} {quantity:g} {intent.symbol} at ~{price:g} ({ref})",
            symbol=intent.symbol, order_ref=ref, client_ref=request.client_ref,
        )  # fmt: skip
        return {"status": "executed", **head, "quantity": quantity, "price": price,
                "value": quantity * price * engine.manager.book.multiplier(intent.symbol),
                "order_ref": ref}  # fmt: skip

    def _remember(self, ref: str, key: tuple[object, ...], outcome: Outcome) -> None:
        self._done[ref] = (key, outcome)
        while len(self._done) > REMEMBERED:
            del self._done[next(iter(self._done))]


def _sized(intent: OrderIntent, quantity: float) -> OrderIntent:
    if quantity == intent.quantity:
        return intent
    return OrderIntent(intent.symbol, intent.side, quantity, intent.order_type, None, None,
                       intent.tif, intent.reference_price)  # fmt: skip


def _rules(decision: Decision | None, reason: str) -> list[dict[str, Any]]:
    """Which rules refused it; a refusal without a rule hit names the gate that refused."""
    if decision is not None and decision.hits:
        return [{"rule": str(h.rule), "action": h.action, "message": h.message,
                 "value": h.value, "limit": h.limit} for h in decision.hits]  # fmt: skip
    if decision is None:
        rule = "TRADING_GATE"
    else:
        rule = "TRADING_STATE" if decision.state is not TradingState.ACTIVE else "RISK_GATE"
    return [{"rule": rule, "action": "BLOCK", "message": reason, "value": None, "limit": None}]
