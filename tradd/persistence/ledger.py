"""The ledger: everything a live worker must remember across crashes, as plain records.

One `Ledger` per strategy, over a database shared by all the workers (one process per
strategy), the supervisor and `tradctl`. Every method is one short transaction, so a
crash leaves each call either done or not done, never half done: an order is persisted
(status "Created") before it is sent, so after a restart the worker can tell what it
intended from what IB confirmed. Inputs are validated before any SQL; all timestamps are
timezone-aware UTC; nothing returned is tied to a session.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from tradd.persistence import ledger_orders as orders_sql
from tradd.persistence import ledger_reports as reports_sql
from tradd.persistence.book import Book
from tradd.persistence.models import (
    CLIENT_REF_MAX,
    TERMINAL_STATUSES,
    ConnectionEvent,
    EquitySnapshot,
    Fill,
    Order,
    OrderEvent,
    RiskDecision,
)
from tradd.persistence.orderrefs import check_strategy, make_order_ref, parse_order_ref
from tradd.persistence.records import (
    ConnectionEventRecord,
    EquitySnapshotRecord,
    FillRecord,
    NewOrder,
    OrderEventRecord,
    OrderRecord,
    PositionRow,
    PositionSnapshotRecord,
    RiskDecisionInput,
    RiskDecisionRecord,
    StrategyStateRecord,
    check_aware,
    check_finite,
    check_side,
    check_source,
    check_trading_state,
)
from tradd.persistence.schema import Base
from tradd.persistence.transactions import (
    chunked,
    read_transaction,
    snapshot_transaction,
    write_transaction,
)

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

__all__ = ["Ledger", "make_order_ref", "parse_order_ref"]

IB_UNSET_DOUBLE = 1e300
"""IB sends Double.MAX_VALUE for "no value" (e.g. realizedPNL on an opening fill)."""

Clock = Callable[[], datetime]
R = TypeVar("R", bound="DataclassInstance")


def utc_now() -> datetime:
    return datetime.now(UTC)


class Ledger:
    """The persistence API of one strategy's worker (and of tools that inspect it)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        strategy: str,
        clock: Clock = utc_now,
        *,
        multipliers: Mapping[str, float] | None = None,
    ) -> None:
        self._sessions = sessions
        self._strategy = check_strategy(strategy)
        self._clock = clock
        self._multipliers = dict(multipliers or {})
        """Contract multipliers by symbol (futures), for the book's P&L in money."""

    @property
    def strategy(self) -> str:
        return self._strategy

    # -- orders -----------------------------------------------------------------------

    def create_orders(
        self, orders: Sequence[NewOrder], decision: RiskDecisionInput | None = None
    ) -> list[OrderRecord]:
        """Persist a batch (e.g. a bracket) as "Created" with fresh consecutive refs.

        All or nothing: the sequence numbers and every order commit together, with the
        risk decision that let them through (its `order_ref` is the first order's), so
        the order path costs one commit. A child with `parent_index` gets its parent's
        new ref as `parent_ref`.
        """
        orders_sql.check_batch(self._strategy, orders)
        if not orders:
            return []
        now = self._now()
        values = None if decision is None else decision_values(decision, now)
        with write_transaction(self._sessions) as session:
            first = orders_sql.allocate_seqs(session, self._strategy, len(orders))
            created = orders_sql.insert_orders(session, self._strategy, orders, first, now)
            if values is not None:
                row = {"strategy": self._strategy, **values, "order_ref": created[0].order_ref}
                reports_sql.insert_row(session, RiskDecision, row)
            return created

    def update_order(
        self,
        order_ref: str,
        *,
        status: str,
        filled: float,
        remaining: float,
        avg_fill_price: float | None,
        ib_order_id: int | None = None,
        perm_id: int | None = None,
        message: str | None = None,
    ) -> OrderRecord | None:
        """Record an orderStatus from IB; None when the ref is not one of our orders.

        A repeated identical report writes nothing; a stale one cannot reopen a terminal
        order or lower `filled` (see `ledger_orders.merge_report`).
        """
        report = orders_sql.StatusReport(
            status, filled, remaining, avg_fill_price, ib_order_id, perm_id, message
        )
        if parse_order_ref(order_ref) is None:
            return None
        now = self._now()
        with write_transaction(self._sessions) as session:
            return orders_sql.apply_report(session, self._strategy, order_ref, report, now)

    def order(self, order_ref: str) -> OrderRecord | None:
        with read_transaction(self._sessions) as session:
            return orders_sql.load_order(session, self._strategy, order_ref)

    def orders(self, *, open_only: bool = False) -> list[OrderRecord]:
        """This strategy's orders by seq; `open_only`: not terminal ("Created" is open)."""
        stmt = select(*orders_sql.ORDER_COLUMNS).where(Order.strategy == self._strategy)
        if open_only:
            stmt = stmt.where(Order.status.not_in(sorted(TERMINAL_STATUSES)))
        with read_transaction(self._sessions) as session:
            rows = session.execute(stmt.order_by(Order.seq))
            return [orders_sql.order_record(row) for row in rows]

    def orders_by_ib_id(self, ib_order_ids: Iterable[int]) -> dict[int, OrderRecord]:
        """This strategy's orders with these IB order ids (the newest if one repeats)."""
        found: dict[int, OrderRecord] = {}
        with read_transaction(self._sessions) as session:
            for chunk in chunked(set(ib_order_ids)):
                stmt = select(*orders_sql.ORDER_COLUMNS).where(
                    Order.strategy == self._strategy, Order.ib_order_id.in_(chunk)
                )
                for row in session.execute(stmt.order_by(Order.seq)):
                    record = orders_sql.order_record(row)
                    found[record.ib_order_id or 0] = record
        return found

    def order_events(self, order_ref: str) -> list[OrderEventRecord]:
        """The order's status history, oldest first."""
        stmt = select(*orders_sql.EVENT_COLUMNS).where(OrderEvent.order_ref == order_ref)
        with read_transaction(self._sessions) as session:
            rows = session.execute(stmt.order_by(OrderEvent.id))
            return [orders_sql.event_record(row) for row in rows]

    # -- fills ------------------------------------------------------------------------

    def add_fill(self, fill: FillRecord) -> bool:
        """Store an execution for this strategy; False if its exec id is already stored
        (by any strategy). ValueError for a fill of another strategy's order."""
        owner = parse_order_ref(fill.order_ref)
        if owner is not None and owner[0] != self._strategy:
            raise ValueError(
                f"fill {fill.exec_id}: order {fill.order_ref} belongs to strategy {owner[0]},"
                f" not {self._strategy}"
            )
        with write_transaction(self._sessions) as session:
            return orders_sql.insert_fill(session, self._strategy, fill)

    def set_commission(self, exec_id: str, commission: float, realized_pnl: float | None) -> bool:
        """Attach IB's commission report to this strategy's fill; False if no such fill.

        IB's "no value" for realized P&L (Double.MAX_VALUE) is stored as None.
        """
        check_finite(f"fill {exec_id}: commission", commission)
        if abs(commission) >= IB_UNSET_DOUBLE:
            raise ValueError(f"fill {exec_id}: commission {commission!r} is IB's 'unset'")
        if realized_pnl is not None and not (
            math.isfinite(realized_pnl) and abs(realized_pnl) < IB_UNSET_DOUBLE
        ):
            realized_pnl = None
        stmt = (
            update(Fill)
            .where(Fill.exec_id == exec_id, Fill.strategy == self._strategy)
            .values(commission=commission, realized_pnl=realized_pnl)
            .returning(Fill.id)
        )
        with write_transaction(self._sessions) as session:
            return session.execute(stmt).first() is not None

    def fills(self, since: datetime | None = None) -> list[FillRecord]:
        """This strategy's fills executed at or after `since`, by time then arrival."""
        stmt = select(*orders_sql.FILL_COLUMNS).where(Fill.strategy == self._strategy)
        if since is not None:
            stmt = stmt.where(Fill.executed_at >= self._aware("since", since))
        with read_transaction(self._sessions) as session:
            rows = session.execute(stmt.order_by(Fill.executed_at, Fill.id))
            return [orders_sql.fill_record(row) for row in rows]

    def fill(self, exec_id: str) -> FillRecord | None:
        """This strategy's fill with that exec id, if stored."""
        stmt = select(*orders_sql.FILL_COLUMNS).where(
            Fill.strategy == self._strategy, Fill.exec_id == exec_id
        )
        with read_transaction(self._sessions) as session:
            row = session.execute(stmt).one_or_none()
            return None if row is None else orders_sql.fill_record(row)

    def known_exec_ids(self, exec_ids: Iterable[str]) -> set[str]:
        """Which of these exec ids are stored, by any strategy."""
        with read_transaction(self._sessions) as session:
            return orders_sql.known_exec_ids(session, exec_ids)

    def book(self) -> Book:
        """This strategy's positions and P&L, replayed from all its fills."""
        return Book(self.fills(), self._multipliers)

    def account_positions(self, symbols: Iterable[str] | None = None) -> dict[str, float]:
        """Net signed quantity per symbol over ALL strategies' fills (the shared account),
        flat symbols omitted; `symbols` restricts the answer."""
        wanted = None if symbols is None else sorted(set(symbols))
        with read_transaction(self._sessions) as session:
            return reports_sql.account_positions(session, wanted)

    def booked_positions(
        self, exec_ids: Iterable[str], symbols: Iterable[str]
    ) -> reports_sql.BookedPositions:
        """Which of these exec ids are booked, and the account's positions, in ONE snapshot.

        Reconciliation adds IB's not-yet-booked executions to the ledger's positions. Read
        apart, another worker booking a fill between the two reads (a strategy trading
        the same symbol) had it counted twice: a false position mismatch."""
        wanted = sorted(set(symbols))
        with snapshot_transaction(self._sessions) as session:
            known = orders_sql.known_exec_ids(session, exec_ids)
            return reports_sql.BookedPositions(
                known, reports_sql.account_positions(session, wanted)
            )

    # -- snapshots and history --------------------------------------------------------

    def snapshot_positions(
        self, rows: Sequence[PositionRow], source: str, at: datetime | None = None
    ) -> None:
        """Record every position seen at one moment (an empty `rows` records "flat")."""
        check_source(source)
        symbols = [row.symbol for row in rows]
        if len(set(symbols)) != len(symbols):
            raise ValueError(f"position snapshot lists a symbol twice: {sorted(symbols)}")
        when = self._at(at)
        with write_transaction(self._sessions) as session:
            reports_sql.insert_positions(session, self._strategy, source, when, rows)

    def latest_positions(self, source: str) -> list[PositionSnapshotRecord]:
        """The rows of the latest snapshot from `source`, by symbol ([] if flat or none)."""
        check_source(source)
        with read_transaction(self._sessions) as session:
            return reports_sql.latest_positions(session, self._strategy, source)

    def snapshot_equity(
        self,
        *,
        net_liquidation: float,
        cash: float | None = None,
        gross_exposure: float | None = None,
        realized_pnl: float | None = None,
        unrealized_pnl: float | None = None,
        daily_pnl: float | None = None,
        at: datetime | None = None,
    ) -> None:
        values = {
            "net_liquidation": net_liquidation, "cash": cash, "gross_exposure": gross_exposure,
            "realized_pnl": realized_pnl, "unrealized_pnl": unrealized_pnl,
            "daily_pnl": daily_pnl,
        }  # fmt: skip
        if net_liquidation is None:
            raise ValueError("equity snapshot without net liquidation")
        for name, value in values.items():
            check_finite(f"equity snapshot {name}", value)
        self._append(EquitySnapshot, {**values, "at": self._at(at)})

    def equity_history(self, since: datetime | None = None) -> list[EquitySnapshotRecord]:
        return self._timeline(EquitySnapshot, EquitySnapshotRecord, since)

    def record_risk_decision(
        self,
        *,
        action: str,
        reason: str,
        trading_state: str,
        rule: str | None = None,
        order_ref: str | None = None,
        symbol: str | None = None,
        side: str | None = None,
        requested_qty: float | None = None,
        approved_qty: float | None = None,
        at: datetime | None = None,
        client_ref: str | None = None,
    ) -> None:
        decision = RiskDecisionInput(action, reason, trading_state, rule, symbol, side,
                                     requested_qty, approved_qty, client_ref)  # fmt: skip
        values = decision_values(decision, self._at(at))
        self._append(RiskDecision, {**values, "order_ref": order_ref})

    def risk_decisions(self, since: datetime | None = None) -> list[RiskDecisionRecord]:
        return self._timeline(RiskDecision, RiskDecisionRecord, since)

    def latest_order_decision(self, client_ref: str, since: datetime) -> RiskDecisionRecord | None:
        """The newest decision since `since` that let an order through for an operator
        entry with `client_ref` (tradd.worker.entry)."""
        start = self._aware("since", since)
        with read_transaction(self._sessions) as session:
            return reports_sql.latest_order_decision(session, self._strategy, client_ref, start)

    def record_connection_event(
        self, kind: str, message: str, code: int | None = None, at: datetime | None = None
    ) -> None:
        if not kind:
            raise ValueError("connection event without a kind")
        values = {"kind": kind, "message": message, "code": code, "at": self._at(at)}
        self._append(ConnectionEvent, values)

    def connection_events(self, since: datetime | None = None) -> list[ConnectionEventRecord]:
        return self._timeline(ConnectionEvent, ConnectionEventRecord, since)

    def first_connection_event(self, kind: str, message: str) -> datetime | None:
        """When this strategy first recorded the event `kind` with `message` (None: never)."""
        stmt = (
            select(ConnectionEvent.at)
            .where(ConnectionEvent.strategy == self._strategy, ConnectionEvent.kind == kind,
                   ConnectionEvent.message == message)
            .order_by(ConnectionEvent.at)
            .limit(1)
        )  # fmt: skip
        with read_transaction(self._sessions) as session:
            return session.scalars(stmt).first()

    # -- trading state ----------------------------------------------------------------

    def state(self) -> StrategyStateRecord | None:
        with read_transaction(self._sessions) as session:
            return reports_sql.load_state(session, self._strategy)

    def account_day_start(self, day: date) -> float | None:
        """The account's starting equity of `day`, as another strategy recorded it."""
        with read_transaction(self._sessions) as session:
            return reports_sql.day_start_equity(session, self._strategy, day)

    def save_state(
        self,
        *,
        trading_state: str,
        reason: str | None,
        equity_peak: float | None,
        day: date | None,
        day_start_equity: float | None,
    ) -> StrategyStateRecord:
        """Insert or replace this strategy's state; returns what is now stored."""
        check_trading_state(trading_state)
        reports_sql.check_day(day)
        check_finite("equity peak", equity_peak)
        check_finite("day start equity", day_start_equity)
        values = {
            "trading_state": trading_state, "reason": reason, "equity_peak": equity_peak,
            "day": day, "day_start_equity": day_start_equity,
        }  # fmt: skip
        now = self._now()
        with write_transaction(self._sessions) as session:
            return reports_sql.upsert_state(session, self._strategy, values, now)

    # -- helpers ----------------------------------------------------------------------

    def _append(self, entity: type[Base], values: dict[str, Any]) -> None:
        with write_transaction(self._sessions) as session:
            reports_sql.insert_row(session, entity, {"strategy": self._strategy, **values})

    def _timeline(
        self, entity: type[Base], record_type: type[R], since: datetime | None
    ) -> list[R]:
        start = None if since is None else self._aware("since", since)
        with read_transaction(self._sessions) as session:
            return reports_sql.timeline(session, entity, record_type, self._strategy, start)

    def _now(self) -> datetime:
        return self._aware("clock time", self._clock())

    def _at(self, at: datetime | None) -> datetime:
        return self._now() if at is None else self._aware("timestamp", at)

    @staticmethod
    def _aware(what: str, value: datetime) -> datetime:
        check_aware(what, value)
        return value.astimezone(UTC)


def decision_values(decision: RiskDecisionInput, at: datetime) -> dict[str, Any]:
    """The `risk_decisions` row of a decision, validated (no order_ref: the caller's)."""
    d = decision
    if not d.action or not d.reason:
        raise ValueError(f"risk decision needs an action and a reason: {d.action!r}, {d.reason!r}")
    check_trading_state(d.trading_state)
    check_side(d.side)
    check_finite("risk decision requested_qty", d.requested_qty)
    check_finite("risk decision approved_qty", d.approved_qty)
    check_client_ref(d.client_ref)
    return {
        "action": d.action, "reason": d.reason, "trading_state": d.trading_state,
        "rule": d.rule, "symbol": d.symbol, "side": d.side,
        "requested_qty": d.requested_qty, "approved_qty": d.approved_qty, "at": at,
        "client_ref": d.client_ref,
    }  # fmt: skip


def check_client_ref(client_ref: str | None) -> None:
    if client_ref is not None and not 0 < len(client_ref) <= CLIENT_REF_MAX:
        raise ValueError(f"risk decision client_ref must be 1 to {CLIENT_REF_MAX} characters, "
                         f"got {client_ref!r}")  # fmt: skip
