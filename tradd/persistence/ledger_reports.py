"""The history statements behind `Ledger`: snapshots, decisions, events, strategy state.

Append-only timelines (read back by strategy and time, oldest first) plus the one
upserted row of trading state per strategy. Each function runs inside the caller's
transaction; validation happens in `Ledger` before the transaction starts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import case, func, insert, select
from sqlalchemy.orm import Session

from tradd.persistence.models import (
    Fill,
    PositionSnapshot,
    PositionSnapshotRow,
    RiskDecision,
    StrategyState,
)
from tradd.persistence.records import (
    PositionRow,
    PositionSnapshotRecord,
    RiskDecisionRecord,
    StrategyStateRecord,
)
from tradd.persistence.transactions import chunked, dialect_insert

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

R = TypeVar("R", bound="DataclassInstance")
FLAT = 1e-9
"""Net quantities smaller than this are float noise: the symbol is flat."""

_ROW_FIELDS = tuple(f.name for f in fields(PositionRow))
_ROW_COLUMNS = tuple(getattr(PositionSnapshotRow, name) for name in _ROW_FIELDS)
_STATE_COLUMNS = tuple(getattr(StrategyState, f.name) for f in fields(StrategyStateRecord))


def insert_positions(
    session: Session, strategy: str, source: str, at: datetime, rows: Sequence[PositionRow]
) -> None:
    header = insert(PositionSnapshot).values(strategy=strategy, at=at, source=source)
    snapshot_id = session.execute(header.returning(PositionSnapshot.id)).scalar_one()
    if rows:
        values = [{"snapshot_id": snapshot_id, **_row_values(row)} for row in rows]
        session.execute(insert(PositionSnapshotRow), values)


def latest_positions(session: Session, strategy: str, source: str) -> list[PositionSnapshotRecord]:
    """The rows of the newest snapshot (latest `at`, then latest written); [] if flat."""
    latest = session.execute(
        select(PositionSnapshot.id, PositionSnapshot.at)
        .where(PositionSnapshot.strategy == strategy, PositionSnapshot.source == source)
        .order_by(PositionSnapshot.at.desc(), PositionSnapshot.id.desc())
        .limit(1)
    ).one_or_none()
    if latest is None:
        return []
    rows = session.execute(
        select(*_ROW_COLUMNS)
        .where(PositionSnapshotRow.snapshot_id == latest.id)
        .order_by(PositionSnapshotRow.symbol)
    )
    return [
        PositionSnapshotRecord(strategy=strategy, at=latest.at, source=source, **row._mapping)
        for row in rows
    ]


def account_positions(session: Session, symbols: Sequence[str] | None) -> dict[str, float]:
    """Net signed quantity per symbol over every strategy's fills; flat symbols omitted."""
    signed = func.sum(case((Fill.side == "BUY", Fill.quantity), else_=-Fill.quantity))
    base = select(Fill.symbol, signed).group_by(Fill.symbol)
    statements = (
        [base] if symbols is None else [base.where(Fill.symbol.in_(c)) for c in chunked(symbols)]
    )
    net: dict[str, float] = {}
    for stmt in statements:
        for symbol, quantity in session.execute(stmt):
            if quantity is not None and abs(quantity) >= FLAT:
                net[symbol] = float(quantity)
    return dict(sorted(net.items()))


@dataclass(frozen=True)
class BookedPositions:
    """What the ledger explains of the account, read in one snapshot (see
    `Ledger.booked_positions`)."""

    known_exec_ids: set[str]
    """The asked-for exec ids that are booked, by any strategy."""
    positions: dict[str, float]
    """Net signed quantity per symbol over every strategy's fills; flat symbols omitted."""


def insert_row(session: Session, entity: Any, values: dict[str, Any]) -> None:
    session.execute(insert(entity).values(**values))


def timeline(
    session: Session, entity: Any, record_type: type[R], strategy: str, since: datetime | None
) -> list[R]:
    """A strategy's rows of one timeline table, oldest first, as `record_type`."""
    columns = [getattr(entity, f.name) for f in fields(record_type)]
    stmt = select(*columns).where(entity.strategy == strategy)
    if since is not None:
        stmt = stmt.where(entity.at >= since)
    rows = session.execute(stmt.order_by(entity.at, entity.id))
    return [record_type(**row._mapping) for row in rows]


def latest_order_decision(
    session: Session, strategy: str, client_ref: str, since: datetime
) -> RiskDecisionRecord | None:
    """The newest decision since `since` that let an order through (only those have an
    order_ref: they commit with their orders) for an entry with `client_ref` (the
    (strategy, client_ref) index finds it; `=` is exact in both databases)."""
    columns = [getattr(RiskDecision, f.name) for f in fields(RiskDecisionRecord)]
    stmt = (
        select(*columns)
        .where(RiskDecision.strategy == strategy, RiskDecision.client_ref == client_ref)
        .where(RiskDecision.at >= since, RiskDecision.order_ref.is_not(None))
        .order_by(RiskDecision.at.desc(), RiskDecision.id.desc())
        .limit(1)
    )
    row = session.execute(stmt).first()
    return None if row is None else RiskDecisionRecord(**row._mapping)


def load_state(session: Session, strategy: str) -> StrategyStateRecord | None:
    stmt = select(*_STATE_COLUMNS).where(StrategyState.strategy == strategy)
    row = session.execute(stmt).one_or_none()
    return None if row is None else StrategyStateRecord(**row._mapping)


def day_start_equity(session: Session, strategy: str, day: date) -> float | None:
    """`day`'s starting equity of the account as another strategy recorded it (the
    first by name, so that every strategy picks the same one)."""
    stmt = (
        select(StrategyState.day_start_equity)
        .where(
            StrategyState.day == day,
            StrategyState.strategy != strategy,
            StrategyState.day_start_equity.is_not(None),
        )
        .order_by(StrategyState.strategy)
        .limit(1)
    )
    return session.scalars(stmt).first()


def upsert_state(
    session: Session, strategy: str, values: dict[str, Any], now: datetime
) -> StrategyStateRecord:
    """Insert or replace the strategy's state row in one statement."""
    row = {"strategy": strategy, "updated_at": now, **values}
    stmt = dialect_insert(session, StrategyState).values(**row)
    stmt = stmt.on_conflict_do_update(
        index_elements=[StrategyState.strategy],
        set_={k: v for k, v in row.items() if k != "strategy"},
    )
    session.execute(stmt)
    return StrategyStateRecord(**row)


def check_day(day: date | None) -> None:
    if isinstance(day, datetime) or (day is not None and not isinstance(day, date)):
        raise ValueError(f"trading day {day!r}: must be a date (not a datetime)")


def _row_values(row: PositionRow) -> dict[str, Any]:
    return {name: getattr(row, name) for name in _ROW_FIELDS}
