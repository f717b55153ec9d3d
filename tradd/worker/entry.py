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
(ref `<run>:<symbol>`) retries it. The ref is also stored with the persisted risk decision
(its `client_ref` column), so a ref a restarted worker has not seen is looked up there
(`LOOKBACK`; only decisions that let an order through count) and refused as used: the
retry a timeout invites, after the supervisor restarted a hung worker, must not place the
entry again.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

import structlog

from tradd.config.live import StrategySettings
from tradd.errors import TemporaryError
from tradd.ib.broker import IBBroker
from tradd.ib.link import IBLink
from tradd.ib.orders import Accepted, OrderIntent
from tradd.ib.store import IBStore
from tradd.ib.types import Side
from tradd.persistence.ledger import Ledger
from tradd.records.entry import EntryArgs, parse_entry
from tradd.records.events import EventKind
from tradd.records.worker_protocol import WorkerErrorCode
from tradd.risk import Decision, TradingState
from tradd.risk.rules import whole_shares
from tradd.worker.channel import CommandError
from tradd.worker.events import EventLog
from tradd.worker.flatten import FlattenJob
from tradd.worker.orders import OrderManager

if TYPE_CHECKING:
    from tradd.persistence.records import RiskDecisionRecord

log = structlog.get_logger("tradd.worker.entry")
REMEMBERED = 1000
"""client_refs a worker remembers (the oldest are forgotten: a worker must not grow)."""
Outcome = dict[str, Any] | CommandError
LOOKBACK = timedelta(days=7)
"""How far back the ledger is searched for a client_ref this process has not seen."""


def checked_entry(args: Mapping[str, Any], symbols: tuple[str, ...]) -> EntryArgs:
    """The channel's arguments, checked again here (the daemon's checks, from
    tradd.records.entry): the worker's socket is its own door."""
    entry = parse_entry(args, requested_by="operator")
    if isinstance(entry, str):
        raise CommandError(WorkerErrorCode.BAD_ARGUMENT, entry)
    if entry.symbol not in symbols:
        raise CommandError(
            WorkerErrorCode.BAD_ARGUMENT,
            f"symbol {entry.symbol!r}: not traded by this strategy ({', '.join(symbols)})",
        )
    return entry


def same_entry(entry: EntryArgs) -> tuple[object, ...]:
    """What makes two requests with one client_ref the same request."""
    return entry.symbol, entry.side, entry.quantity, entry.value


def who(entry: EntryArgs) -> str:
    return entry.requested_by or "operator"


def ref_note(requested_by: str, client_ref: str | None) -> str:
    """What a persisted decision's reason ends with, for people reading it (the ref is
    looked up by the decision's `client_ref` column, never in this text)."""
    ref = f" (client_ref {client_ref})" if client_ref else ""
    return f"; operator entry by {requested_by}{ref}"


class FlattenState(Protocol):
    @property
    def flatten(self) -> FlattenJob | None:
        """The flatten (or risk close) running, if any: an entry is refused meanwhile."""


class EntryContext(Protocol):
    """What an entry reads of the worker: the engine's parts (`tradd.worker.engine`, which
    imports this module through the operator, so it is not imported here)."""

    @property
    def strategy(self) -> StrategySettings: ...
    @property
    def ledger(self) -> Ledger: ...
    @property
    def link(self) -> IBLink: ...
    @property
    def manager(self) -> OrderManager: ...
    @property
    def broker(self) -> IBBroker | None: ...
    @property
    def store(self) -> IBStore | None: ...
    @property
    def events(self) -> EventLog: ...
    @property
    def ready_count(self) -> int:
        """Times the link became ready (0: not reconciled with IB yet)."""

    @property
    def operator(self) -> FlattenState: ...


class Entries:
    """The worker's operator entries, and the replies remembered by client_ref. `clock` is
    the ledger's (it stamps decisions with wall time, not the market's)."""

    def __init__(
        self, engine: EntryContext, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._engine, self._clock = engine, clock
        self._done: dict[str, tuple[tuple[object, ...], Outcome]] = {}

    def enter(self, args: Mapping[str, Any]) -> dict[str, Any]:
        request = checked_entry(args, self._engine.strategy.symbols)
        ref, key = request.client_ref, same_entry(request)
        if ref is not None and ref not in self._done:
            earlier = self._earlier(ref)
            if earlier is not None:
                self._remember(ref, key, earlier)
        if ref is not None and ref in self._done:
            done, outcome = self._done[ref]
            if done != key:
                message = f"client_ref {ref!r} was used for another entry"
                raise CommandError(WorkerErrorCode.CONFLICT, message)
        else:
            outcome, order_may_exist = self._outcome(request)
            if ref is not None and order_may_exist:
                self._remember(ref, key, outcome)
        if isinstance(outcome, CommandError):
            raise outcome
        return dict(outcome)

    def _earlier(self, ref: str) -> CommandError | None:
        """The refusal for a ref an earlier worker process placed an order with (its
        decision names it); a ref whose decisions all refused may be used again."""
        try:
            found = self._order_decision(ref)
        except TemporaryError as exc:
            message = f"client_ref {ref!r} not checked: {exc}"
            raise CommandError(WorkerErrorCode.UNAVAILABLE, message) from None
        if found is None:
            return None
        return CommandError(
            WorkerErrorCode.CONFLICT,
            f"client_ref {ref!r} was used before this worker restarted ({found.action} "
            f"{found.side} {found.requested_qty or 0:g} {found.symbol}, order "
            f"{found.order_ref}): not placed "
            "again; see `tradctl status`",
        )

    def _order_decision(self, ref: str) -> RiskDecisionRecord | None:
        return self._engine.ledger.latest_order_decision(ref, self._clock() - LOOKBACK)

    def _outcome(self, request: EntryArgs) -> tuple[Outcome, bool]:
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

    def _failed(self, request: EntryArgs, exc: Exception) -> tuple[CommandError, bool]:
        """An unexpected error: an order may exist once its decision is persisted (they
        commit together, and nothing is sent before), else nothing was placed."""
        ref = request.client_ref
        try:
            persisted = ref is None or self._order_decision(ref) is not None
        except Exception:  # the ledger may be what failed: assume the order exists
            persisted = True
        if not persisted:
            return CommandError(WorkerErrorCode.INTERNAL, f"enter: {exc!r}; nothing placed"), False
        message = f"enter: {exc!r}; the order may have been placed"
        return CommandError(WorkerErrorCode.INTERNAL, message), True

    def _size(self, request: EntryArgs) -> tuple[float, float]:
        """Shares and the price valuing them; errors here placed nothing (not remembered)."""
        engine = self._engine
        if not engine.link.usable:
            reason = f"{engine.link.state}: {engine.link.manager.reason}"
            raise CommandError(WorkerErrorCode.UNAVAILABLE, f"not connected to IB ({reason})")
        if not engine.ready_count:
            raise CommandError(WorkerErrorCode.UNAVAILABLE, "not reconciled with IB yet")
        prices = engine.store.last_price if engine.store is not None else {}
        price = prices.get(request.symbol)
        if price is None or not math.isfinite(price) or price <= 0:
            message = f"no price for {request.symbol} yet"
            raise CommandError(WorkerErrorCode.UNAVAILABLE, message)
        if request.quantity is not None:
            return request.quantity, price
        assert request.value is not None
        quantity = whole_shares(request.value / price)  # 2.9999999996 shares are 3
        if quantity < 1:
            raise CommandError(
                WorkerErrorCode.BAD_ARGUMENT, f"value {request.value:g} buys 0 shares at {price:g}"
            )
        return quantity, price

    def _place(self, request: EntryArgs, quantity: float, price: float) -> dict[str, Any]:
        engine = self._engine
        side: Side = "BUY" if request.side == "BUY" else "SELL"
        intent = OrderIntent(request.symbol, side, quantity, "MKT", None, None, "DAY", price)
        flatten = engine.operator.flatten
        blocked = f"closing positions ({flatten.requested_by})" if flatten is not None else ""
        note = ref_note(who(request), request.client_ref)
        result, decision = engine.manager.submit_checked([intent], blocked, note,
                                                         request.client_ref)  # fmt: skip
        head = {"strategy": engine.strategy.name, "symbol": request.symbol, "side": side}
        if isinstance(result, Accepted):
            return self._executed(request, head, intent, result, price)
        if decision is not None and decision.allowed:  # passed the gates, the send failed
            raise CommandError(
                WorkerErrorCode.UNAVAILABLE,
                f"{result.reason}: the entry may have been placed; it is in the ledger and is "
                "never re-sent (`tradctl status` shows the position)",
            )
        log.warning("operator entry blocked", requested_by=who(request),
                    reason=result.reason, **head)  # fmt: skip
        return {"status": "blocked", **head, "quantity": quantity, "price": price,
                "reason": result.reason, "rules": _rules(decision, result.reason)}  # fmt: skip

    def _executed(self, request: EntryArgs, head: dict[str, Any], intent: OrderIntent,
                  result: Accepted, price: float) -> dict[str, Any]:  # fmt: skip
        engine, ref = self._engine, result.refs[0]
        why = f"operator entry by {who(request)}"
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
