"""The worker's brain on the main thread: every event and periodic check, in one place.

`IBStore` hands it each event it does not handle itself (bars it does) and calls `tick`
around every wait. Here the link's state changes become trading gates and events, a new
connection becomes a reconciliation (and, the first time, the warm-up history), account
values become the broker's cash and value and the risk baselines, and commands from the
channel are carried out. Nothing in here blocks except the bounded requests to IB.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

import structlog

from tradd.config.live import StrategySettings, WorkerSettings
from tradd.errors import TemporaryError
from tradd.ib.broker import IBBroker
from tradd.ib.circuit import Backoff
from tradd.ib.events import (
    AccountValueChanged,
    CommissionReceived,
    ExecutionReceived,
    FarmNotice,
    LinkChanged,
    LinkReady,
    LinkState,
    NoticeReceived,
    OrderChanged,
)
from tradd.ib.link import IBLink
from tradd.ib.store import IBStore
from tradd.persistence.book import Book
from tradd.persistence.ledger import Ledger
from tradd.persistence.models import OrderStatus
from tradd.persistence.records import PositionRow
from tradd.records.events import EventKind, HaltCause
from tradd.risk import Portfolio, TradingState
from tradd.worker.account import AccountState
from tradd.worker.channel import Command
from tradd.worker.events import EventLog
from tradd.worker.ibday import IBDay
from tradd.worker.operator import Operator
from tradd.worker.orders import OrderManager
from tradd.worker.positions import held_rows
from tradd.worker.reconcile import (
    UNKNOWN_REASON,
    BrokerView,
    MismatchWatch,
    ReconcilePlan,
    consistent_broker_side,
    plan_reconciliation,
)
from tradd.worker.snapshot import status_snapshot
from tradd.worker.watchdog import FeedHealth, StalenessWatchdog

log = structlog.get_logger("tradd.worker.engine")
MISMATCH_RECHECK = 2.0
"""Seconds before a position mismatch is checked again (a fill may be in flight); see
`MismatchWatch` for when one halts."""


class WorkerEngine:
    def __init__(
        self,
        strategy: StrategySettings,
        settings: WorkerSettings,
        *,
        link: IBLink,
        ledger: Ledger,
        manager: OrderManager,
        broker: IBBroker,
        account: AccountState,
        events: EventLog,
        watchdog: StalenessWatchdog,
        market_now: Callable[[], datetime],
        request_stop: Callable[[], None],
        housekeeping: Callable[[], None] = lambda: None,
        on_warmed_up: Callable[[], None] = lambda: None,
        monotonic: Callable[[], float] = time.monotonic,
        orphaned: Callable[[], bool] = lambda: False,
    ) -> None:
        self.strategy, self.settings = strategy, settings
        self.link, self.ledger, self.manager, self.broker = link, ledger, manager, broker
        self.account, self.events, self.watchdog = account, events, watchdog
        self._market_now, self._request_stop, self._monotonic = market_now, request_stop, monotonic
        self._housekeeping, self._on_warmed_up = housekeeping, on_warmed_up
        self._orphaned = orphaned
        self.store: IBStore | None = None
        self.started = monotonic()
        self.ready_count = 0
        self.warmed_up = False
        self.operator = Operator(self, request_stop, monotonic, lambda: status_snapshot(self))
        self._recheck_at = math.inf
        self._mismatches = MismatchWatch()
        self._resync_at, self._resync_why = math.inf, ""
        self._synced = False
        """Reconciled since the link last went down: until then no order may go out, as
        the ledger's view of orders and positions may be stale."""
        self._resync = Backoff(1.0, 60.0, 0.1)
        self._next_snapshot = 0.0
        self._saved_state = (manager.gate.state, manager.gate.reason)
        self.ib_day = IBDay(ledger, account.trading_day)
        self._hours_day: date | None = None

    def market_now(self) -> datetime:
        """The market's time now (the simulator's, under simgw)."""
        return self._market_now()

    def uptime(self) -> float:
        """Seconds since the engine started."""
        return self._monotonic() - self.started

    # -- gates ---------------------------------------------------------------------------
    def blocked_reason(self) -> str:
        """Why no strategy order may go out now ("" when it may)."""
        if self.operator.stopping:
            return f"worker is stopping ({self.operator.stopping})"
        if not self.link.usable:
            return f"not connected to IB ({self.link.state}: {self.link.manager.reason})"
        if self.ready_count == 0:
            return "not reconciled with IB yet"
        if not self._synced:
            return "re-syncing with IB after the link came back (reconciliation pending)"
        stale = self.watchdog.stale
        if stale:
            return f"market data stale for {', '.join(stale)}"
        return ""

    def close(self, symbols: tuple[str, ...], why: str) -> None:
        """Close these positions (a risk rule's CLOSE_POSITION), the careful way."""
        self.operator.start_close(symbols, why)

    def portfolio(self) -> Portfolio:
        prices = dict(self.store.last_price) if self.store else {}
        b = self.account.baselines
        return Portfolio(
            self._market_now(),
            self.account.net_liquidation,
            self.manager.risk_positions(),
            prices,
            self.account.gross_exposure,
            b.day_start_equity,
            b.equity_peak,
        )

    # -- StoreHandler ----------------------------------------------------------------------
    def handle(self, event: object) -> None:
        if isinstance(event, OrderChanged):
            self.manager.on_order(event.update)
        elif isinstance(event, ExecutionReceived):
            self.manager.on_execution(event.execution)
        elif isinstance(event, CommissionReceived):
            self.manager.on_commission(event.commission)
        elif isinstance(event, NoticeReceived):
            self.manager.on_notice(event.notice)
        elif isinstance(event, AccountValueChanged):
            if event.tag == "NetLiquidation":  # a new day starts from the equity standing
                self._roll_day(self._market_now())  # before it: the last close's
            if self.account.update(event.tag, event.value, event.currency):
                self.broker.set_account(self.account.cash, self.account.net_liquidation)
        elif isinstance(event, LinkChanged):
            self._link_changed(event.state, event.reason)
        elif isinstance(event, LinkReady):
            self._ready(event.why)
        elif isinstance(event, FarmNotice):
            self.ledger.record_connection_event("farm", event.notice.message, event.notice.code)
        elif isinstance(event, Command):
            self.operator.handle(event)

    def tick(self) -> float:
        wait = min(self.settings.heartbeat, self.manager.expire_pending())
        now = self._market_now()
        self.ib_day.began(now)  # a new day noted as soon as it is seen
        if self.ready_count and self.link.usable:
            self._refresh_hours(now)
            self._watch_feeds(now)
        self._equity(now)
        gate = self.manager.gate
        if (gate.state, gate.reason) != self._saved_state:  # e.g. a rule set REDUCING
            self.save_state()
        mono = self._monotonic()
        if not self.operator.stopping and self._orphaned():
            log.error("the supervisor is gone; stopping")
            self.operator.begin_stop("supervisor gone")
        self.operator.tick(mono)
        if mono >= self._recheck_at:
            self._recheck_positions()
        if mono >= self._resync_at and self.link.usable:
            self._resync_at = math.inf
            self._ready(self._resync_why)
        if mono >= self._next_snapshot:
            self.snapshot()
        return max(wait, 0.0)

    def _refresh_hours(self, now: datetime) -> None:
        """Once a day, contract details again: IB lists trading hours for about six days,
        so a worker a week on one connection would otherwise see its markets shut."""
        if self.store is None or now.date() == self._hours_day:
            return
        self._hours_day = now.date()  # a failure is tried again tomorrow: days of margin left
        try:
            self.link.refresh_contracts()
        except TemporaryError as exc:
            log.warning("contract details refresh failed", error=str(exc))
            return
        self.store.set_contracts(self.link.contracts)

    # -- link ------------------------------------------------------------------------------
    def _link_changed(self, state: LinkState, reason: str) -> None:
        self.ledger.record_connection_event(str(state), reason)
        if state is not LinkState.CONNECTED:
            self._synced = False
        if state is LinkState.CIRCUIT_OPEN:
            self.events.emit(EventKind.CIRCUIT_OPEN, "critical", f"IB circuit open: {reason}")
        elif state in (LinkState.DISCONNECTED, LinkState.CONNECTIVITY_LOST) and self.ready_count:
            self.events.emit(EventKind.DISCONNECTED, "warning", f"IB {state}: {reason}")
        for feed in self.store.feeds.values() if self.store else ():
            if state is not LinkState.CONNECTED and feed._laststatus == feed.LIVE:
                feed.put_notification(feed.CONNBROKEN)

    def _ready(self, why: str) -> None:
        """Connected (again): warm up or fill the gap, then reconcile with the gateway."""
        assert self.store is not None
        self.ledger.record_connection_event("ready", why)
        self.store.set_contracts(self.link.contracts)
        self._hours_day = self._market_now().date()
        first = next(iter(self.link.contracts.values()), None)
        if first is not None:
            self.account.set_zone(first.time_zone)
        try:
            if not self.warmed_up:
                self.store.backfill(self._history, self.strategy.warmup_bars)
                self.warmed_up = True
                self._on_warmed_up()
            elif why in ("connected", "data_lost"):
                self.store.fill_gap(self._history, self.strategy.warmup_bars)
            self.reconcile(why)
        except TemporaryError as exc:
            self._synced = False
            delay = self._resync.next()
            log.error("re-sync with IB failed; retrying", error=str(exc), retry_in=delay)
            self.events.emit(EventKind.RESYNC_FAILED, "warning", str(exc))
            self._resync_at, self._resync_why = self._monotonic() + delay, why
            return
        self._resync.reset()
        self._resync_at = math.inf
        self._synced = True
        self.watchdog.reset(self._market_now())
        if self.ready_count:
            self.events.emit(EventKind.RECONNECTED, "info", f"IB link ready again ({why})")
        self.ready_count += 1
        for feed in self.store.feeds.values():
            if feed._laststatus == feed.CONNBROKEN:
                feed.put_notification(feed.LIVE)

    def _history(self, symbol: str, duration: str, size: str) -> list[Any]:
        result = self.link.history(symbol, duration, size)
        if result.errors and not result.bars:
            raise TemporaryError(f"{symbol}: history failed: {result.errors[0].message}")
        return list(result.bars)

    # -- reconciliation --------------------------------------------------------------------
    def reconcile(self, why: str) -> ReconcilePlan:
        view = self._broker_view()
        ledger_open = self.ledger.orders(open_only=True)
        booked = self.ledger.booked_positions(
            (e.exec_id for e, _ in view.executions), self.strategy.symbols
        )
        plan = plan_reconciliation(
            self.strategy.name,
            ledger_open,
            booked.known_exec_ids,
            view,
            booked.positions,
            self.strategy.symbols,
            since=self.ib_day.began(self._market_now()),
        )
        for execution, commission in plan.new_fills:  # before statuses: a cancel after a
            self.manager.on_execution(execution, commission)  # partial fill needs its fills
        for update in plan.updates:
            self.manager.on_order(update)
        for ref in plan.not_sent:
            self.manager.mark(
                ref,
                OrderStatus.NOT_SENT,
                "never reached IB (the worker stopped "
                "between persisting and sending it); not re-sent",
            )
        for ref in plan.vanished:
            self.manager.mark(ref, OrderStatus.CANCELLED, "no longer known to IB at reconciliation")
        for ref in plan.unknown:
            self._unknown(ref)
        self.ledger.snapshot_positions(held_rows(view.positions, self.strategy.symbols), "broker")
        self.ledger.record_connection_event("reconciled", f"{why}: {plan.summary()}")
        log.info("reconciled", why=why, summary=plan.summary())
        self._judge(plan)
        return plan

    def _judge(self, plan: ReconcilePlan) -> None:
        """Halt on a position mismatch a re-check confirmed; else re-check soon."""
        proven = self._mismatches.judge(plan.mismatches)
        self._recheck_at = (
            self._monotonic() + MISMATCH_RECHECK if self._mismatches.pending else math.inf
        )
        if proven:
            why = "position mismatch: " + "; ".join(m.describe() for m in proven)
            self.halt(why, HaltCause.POSITION_MISMATCH)

    def _unknown(self, ref: str) -> None:
        """An order IB no longer lists, from before its trading day began: maybe filled."""
        if self.manager.mark(ref, OrderStatus.UNKNOWN, UNKNOWN_REASON):
            log.error("order fate unknown", order_ref=ref)
            self.events.emit(
                EventKind.MISMATCH, "critical", f"{ref}: {UNKNOWN_REASON}", order_ref=ref
            )

    def _broker_view(self) -> BrokerView:
        account = self.link.client.account
        open_orders, completed = self.link.open_orders(), self.link.completed_orders()
        executions, held = consistent_broker_side(self.link.executions, self.link.positions)
        positions = [p for p in held if not account or p.account == account]
        return BrokerView(open_orders, completed, executions, positions)

    def _recheck_positions(self) -> None:
        self._recheck_at = math.inf
        try:
            self.reconcile("position recheck")
        except TemporaryError as exc:
            log.warning("position recheck failed", error=str(exc))

    def halt(self, reason: str, cause: HaltCause) -> None:
        """Halt the strategy; `cause` tells alerts why (a mismatch, a strategy error)."""
        self.manager.gate.set_state(TradingState.HALTED, reason)
        self.save_state()
        self.events.emit(EventKind.HALTED, "critical", reason, cause=cause)

    # -- feeds and equity -------------------------------------------------------------------
    def _watch_feeds(self, now: datetime) -> None:
        assert self.store is not None
        changes = self.watchdog.check(now, self.store.last_heard, self.store.session_start)
        for change in changes:
            if change.health is FeedHealth.RESUBSCRIBED:
                log.warning(
                    "no bars; resubscribing", symbol=change.symbol, silent=change.silent_seconds
                )
                try:
                    self.link.resubscribe([change.symbol])
                except TemporaryError as exc:
                    log.warning("resubscribe failed", symbol=change.symbol, error=str(exc))
            elif change.health is FeedHealth.STALE:
                self.events.emit(
                    EventKind.DATA_STALE,
                    "critical",
                    f"{change.symbol}: no market data "
                    f"for {change.silent_seconds:.0f}s; orders stopped",
                    symbol=change.symbol,
                )
            else:
                self.events.emit(
                    EventKind.DATA_RESUMED,
                    "info",
                    f"{change.symbol}: market data back",
                    symbol=change.symbol,
                )

    def _roll_day(self, now: datetime) -> None:
        new_day, changed = self.account.observe_equity(now)
        if new_day:
            self.manager.gate.new_day()
        if changed:
            self.save_state()

    def _equity(self, now: datetime) -> None:
        self._roll_day(now)
        if not self.ready_count:
            return
        decision = self.manager.gate.check_portfolio(self.portfolio())
        if decision is None:
            return
        rule = ",".join(h.rule for h in decision.hits) or None
        self.ledger.record_risk_decision(
            action=decision.verdict,
            reason=decision.reason,
            trading_state=str(decision.state),
            rule=rule,
        )
        self.manager.stats.decision(decision.verdict, rule)
        self.events.emit(
            EventKind.RISK_BREACH,
            "critical" if decision.close_symbols else "warning",
            decision.reason,
            state=str(decision.state),
        )
        self.save_state()
        if decision.close_symbols:
            self.close(decision.close_symbols, f"risk: {decision.reason}")

    def save_state(self) -> None:
        b, gate = self.account.baselines, self.manager.gate
        self._saved_state = (gate.state, gate.reason)
        self.ledger.save_state(
            trading_state=str(gate.state),
            reason=gate.reason or None,
            equity_peak=b.equity_peak,
            day=b.day,
            day_start_equity=b.day_start_equity,
        )

    def snapshot(self) -> None:
        """Equity and positions into the database; and the periodic housekeeping."""
        self._next_snapshot = self._monotonic() + self.settings.snapshot_interval
        self._housekeeping()
        nlv = self.account.net_liquidation
        if not math.isfinite(nlv):
            return
        prices = self.store.last_price if self.store else {}
        book = self.manager.book
        self.ledger.snapshot_positions(_book_rows(book, prices), "ledger")
        self.ledger.snapshot_equity(
            net_liquidation=nlv,
            cash=_finite(self.account.cash),
            gross_exposure=self.account.gross_exposure,
            realized_pnl=book.realized_pnl,
            unrealized_pnl=book.unrealized_known(prices),
            daily_pnl=self.account.daily_pnl,
        )


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _book_rows(book: Book, prices: Mapping[str, float]) -> list[PositionRow]:
    rows = []
    for symbol, p in book.positions().items():
        price = prices.get(symbol)
        multiplier = book.multiplier(symbol)  # a future's value is qty x price x multiplier
        value = p.quantity * price * multiplier if price is not None else None
        unrealized = (price - p.avg_price) * p.quantity * multiplier if price is not None else None
        rows.append(PositionRow(symbol, p.quantity, p.avg_price, price, value, unrealized))
    return rows
