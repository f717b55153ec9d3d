"""The order and fill statements behind `Ledger`, each run inside the caller's transaction.

Kept apart from `Ledger` so the facade stays a list of short transactions, and so the
rules that decide what an IB status report changes (`merge_report`) are pure functions
that can be tested without a database. Statements are few and batched: creating a
bracket is one sequence upsert and one multi-row INSERT, storing a fill one INSERT.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Table, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import ReturningInsert

from tradd.persistence.models import (
    TERMINAL_STATUSES,
    Fill,
    Order,
    OrderEvent,
)
from tradd.persistence.models import OrderStatus as S
from tradd.persistence.orderrefs import make_order_ref, parse_order_ref
from tradd.persistence.records import (
    FillRecord,
    NewOrder,
    OrderEventRecord,
    OrderRecord,
    check_finite,
    check_status,
)
from tradd.persistence.schema import Base
from tradd.persistence.transactions import Upsert, chunked, dialect_name

# Core tables for multi-row INSERTs: the ORM's bulk insert splits a batch into one
# statement per set of non-NULL columns (a bracket's MKT parent and LMT child differ).
ORDERS = Base.metadata.tables["orders"]
FILLS = Base.metadata.tables["fills"]
SEQUENCES = Base.metadata.tables["order_sequences"]
ORDER_COLUMNS = tuple(getattr(Order, f.name) for f in fields(OrderRecord))
FILL_COLUMNS = tuple(getattr(Fill, f.name) for f in fields(FillRecord))
EVENT_COLUMNS = tuple(getattr(OrderEvent, f.name) for f in fields(OrderEventRecord))


@dataclass(frozen=True)
class _OrderPath:
    """The order path's upserts for one backend, built once at import: constructing an
    INSERT and its cache key costs more than executing it on SQLite. Parameters are
    passed at execution."""

    allocate_seqs: ReturningInsert[Any]
    insert_fill: ReturningInsert[Any]

    @classmethod
    def build(cls, insert_: Callable[[Table], Upsert]) -> _OrderPath:
        counters = insert_(SEQUENCES)
        allocate = counters.on_conflict_do_update(
            index_elements=["strategy"],
            set_={"last_seq": SEQUENCES.c.last_seq + counters.excluded.last_seq},
        )
        fills = insert_(FILLS).on_conflict_do_nothing(index_elements=["exec_id"])
        # RETURNING, not rowcount: psycopg reports -1 for an INSERT that returns rows.
        return cls(allocate.returning(SEQUENCES.c.last_seq), fills.returning(FILLS.c.id))


_SQLITE_PATH = _OrderPath.build(sqlite.insert)
_POSTGRESQL_PATH = _OrderPath.build(postgresql.insert)
# RETURNING the seq rather than sort_by_parameter_order, which SQLite can only honour by
# inserting row by row: this way a batch is one multi-row INSERT on both backends.
_INSERT_ORDERS = insert(ORDERS).returning(ORDERS.c.seq, ORDERS.c.id)


def _order_path(session: Session) -> _OrderPath:
    return _POSTGRESQL_PATH if dialect_name(session) == "postgresql" else _SQLITE_PATH


@dataclass(frozen=True)
class StatusReport:
    """One orderStatus from IB, checked: what `Ledger.update_order` was told."""

    status: str
    filled: float
    remaining: float
    avg_fill_price: float | None
    ib_order_id: int | None
    perm_id: int | None
    message: str | None

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", check_status(self.status))
        for what in ("filled", "remaining"):
            value = getattr(self, what)
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"order status {what} {value!r}: must be a number >= 0")
            object.__setattr__(self, what, float(value))
        check_finite("average fill price", self.avg_fill_price)
        if self.avg_fill_price is not None:
            object.__setattr__(self, "avg_fill_price", float(self.avg_fill_price))
        for name in ("ib_order_id", "perm_id"):  # ib_async reports 0 until IB assigns one
            if getattr(self, name) == 0:
                object.__setattr__(self, name, None)
        if self.message == "":
            object.__setattr__(self, "message", None)


def check_batch(strategy: str, orders: Sequence[NewOrder]) -> None:
    """ValueError for a parent that is not an earlier order of the batch or not ours."""
    for index, order in enumerate(orders):
        if order.parent_index is not None and order.parent_index >= index:
            raise ValueError(
                f"order {index} ({order.symbol}): parent_index {order.parent_index} must point "
                f"to an earlier order of the batch"
            )
        parsed = parse_order_ref(order.parent_ref)
        if order.parent_ref is not None and (parsed is None or parsed[0] != strategy):
            raise ValueError(
                f"order {index} ({order.symbol}): parent_ref {order.parent_ref!r} is not an "
                f"order of strategy {strategy}"
            )


def allocate_seqs(session: Session, strategy: str, count: int) -> int:
    """Reserve `count` consecutive sequence numbers atomically; returns the first.

    One statement on both backends: PostgreSQL locks the counter row for the rest of
    the transaction, SQLite already holds the database write lock.
    """
    stmt = _order_path(session).allocate_seqs
    last = session.execute(stmt, {"strategy": strategy, "last_seq": count}).scalar_one()
    return int(last) - count + 1


def insert_orders(
    session: Session, strategy: str, orders: Sequence[NewOrder], first_seq: int, now: datetime
) -> list[OrderRecord]:
    refs = [make_order_ref(strategy, first_seq + i) for i in range(len(orders))]
    rows: list[dict[str, Any]] = []
    for index, order in enumerate(orders):
        parent = refs[order.parent_index] if order.parent_index is not None else order.parent_ref
        rows.append(
            {
                "order_ref": refs[index], "strategy": strategy, "seq": first_seq + index,
                "symbol": order.symbol, "side": order.side, "quantity": order.quantity,
                "order_type": order.order_type, "limit_price": order.limit_price,
                "stop_price": order.stop_price, "tif": order.tif, "parent_ref": parent,
                "oca_group": order.oca_group, "ib_order_id": None, "perm_id": None,
                "status": S.CREATED.value, "filled": 0.0, "avg_fill_price": None,
                "reason": None, "created_at": now, "updated_at": now,
            }
        )  # fmt: skip
    # RETURNING the seq rather than sort_by_parameter_order, which SQLite can only honour
    # by inserting row by row: this way the batch is one multi-row INSERT on both backends.
    ids = {row.seq: row.id for row in session.execute(_INSERT_ORDERS, rows)}
    return [OrderRecord(id=ids[row["seq"]], **row) for row in rows]


def next_status(current: str, reported: str) -> str:
    """The status to store: IB's, except that a finished order never comes back to life.

    A stale report (e.g. "Submitted" after "Filled") must not reopen a terminal order.
    Between terminal statuses the newer wins (a fill can overtake a cancel), but Filled
    is final. tradd's own verdicts on an order IB did not list (NotSent, Unknown) yield to
    any report from IB: IB reporting the order is proof it reached IB.
    """
    if current in (S.NOT_SENT, S.UNKNOWN):
        return reported
    if current == S.FILLED or (current in TERMINAL_STATUSES and reported not in TERMINAL_STATUSES):
        return current
    return reported


@dataclass(frozen=True)
class Merge:
    """What one status report does to a stored order."""

    changes: dict[str, Any]
    """Columns that change (empty: the report told us nothing new, write nothing)."""
    eventful: bool
    """Status, filled or message changed: worth a row in order_events."""
    remaining: float
    """The remaining quantity to record with the event."""


def merge_report(current: OrderRecord, report: StatusReport) -> Merge:
    """The changes a report makes to `current`.

    `filled` only rises: a report with less filled than stored is stale, so its filled,
    remaining and average price are ignored (its status still goes through
    `next_status`). ids the report does not know (None) keep their stored values.
    """
    stale = report.filled < current.filled
    filled = current.filled if stale else report.filled
    avg = current.avg_fill_price if stale else report.avg_fill_price
    if filled == 0 and avg == 0:  # IB's "no average yet"
        avg = None
    wanted = {
        "status": next_status(current.status, report.status),
        "filled": filled,
        "avg_fill_price": avg,
        "ib_order_id": report.ib_order_id or current.ib_order_id,
        "perm_id": report.perm_id or current.perm_id,
        "reason": current.reason if report.message is None else report.message,
    }
    changes = {k: v for k, v in wanted.items() if v != getattr(current, k)}
    remaining = max(current.quantity - filled, 0.0) if stale else report.remaining
    return Merge(changes, bool(changes.keys() & {"status", "filled", "reason"}), remaining)


def load_order(
    session: Session, strategy: str, order_ref: str, *, for_update: bool = False
) -> OrderRecord | None:
    stmt = select(*ORDER_COLUMNS).where(Order.order_ref == order_ref, Order.strategy == strategy)
    if for_update:
        stmt = stmt.with_for_update()
    row = session.execute(stmt).one_or_none()
    return None if row is None else order_record(row)


def apply_report(
    session: Session, strategy: str, order_ref: str, report: StatusReport, now: datetime
) -> OrderRecord | None:
    current = load_order(session, strategy, order_ref, for_update=True)
    if current is None:
        return None
    merge = merge_report(current, report)
    if not merge.changes:
        return current
    changes = {**merge.changes, "updated_at": now}
    session.execute(update(Order).where(Order.id == current.id).values(**changes))
    updated = OrderRecord(**{**_as_dict(current), **changes})
    if merge.eventful:
        session.execute(
            insert(OrderEvent).values(
                order_ref=order_ref, at=now, status=updated.status, filled=updated.filled,
                remaining=merge.remaining, avg_fill_price=updated.avg_fill_price,
                message=report.message,
            )
        )  # fmt: skip
    return updated


def insert_fill(session: Session, strategy: str, fill: FillRecord) -> bool:
    """Store the fill unless its exec id is known; True when it was new.

    ON CONFLICT DO NOTHING rather than catching IntegrityError: it is one statement on
    both backends, and on PostgreSQL a concurrent insert of the same exec id waits for
    the other transaction and then does nothing, without aborting ours.
    """
    values = {"strategy": strategy, **_as_dict(fill)}
    if session.execute(_order_path(session).insert_fill, values).first() is None:
        return False
    if fill.order_ref is not None:
        _fill_order_from_fills(session, strategy, fill.order_ref)
    return True


def _fill_order_from_fills(session: Session, strategy: str, order_ref: str) -> None:
    """Raise the order's filled quantity and average price to what its fills say.

    IB's status reports usually say it first, but not always: a fill booked at
    reconciliation (the worker was down) is followed only by a completed-orders entry,
    which carries no quantity. Only ever raised: a report ahead of its fills stands."""
    quantity, value = session.execute(
        select(func.sum(Fill.quantity), func.sum(Fill.quantity * Fill.price)).where(
            Fill.order_ref == order_ref, Fill.strategy == strategy
        )
    ).one()
    if not quantity:
        return
    session.execute(
        update(Order)
        .where(Order.order_ref == order_ref, Order.strategy == strategy, Order.filled < quantity)
        .values(filled=quantity, avg_fill_price=value / quantity)
    )


def known_exec_ids(session: Session, exec_ids: Iterable[str]) -> set[str]:
    known: set[str] = set()
    for chunk in chunked(set(exec_ids)):
        known.update(session.scalars(select(Fill.exec_id).where(Fill.exec_id.in_(chunk))))
    return known


def order_record(row: Row[Any]) -> OrderRecord:
    return OrderRecord(**row._mapping)


def fill_record(row: Row[Any]) -> FillRecord:
    return FillRecord(**row._mapping)


def event_record(row: Row[Any]) -> OrderEventRecord:
    return OrderEventRecord(**row._mapping)


def _as_dict(record: Any) -> dict[str, Any]:
    return {f.name: getattr(record, f.name) for f in fields(record)}
