"""The tables: what a worker must remember across crashes, and what it did and why;
and the supervisor's alert outbox (`alerts`, `alert_deliveries`).

These classes describe the schema; they do not create it. The schema is created and
evolved only by the Alembic revisions in `tradd.persistence.migrations` (the test suite
checks that the two agree), so a change here needs a new revision too. Only
`tradd.persistence.ledger.Ledger` and `tradd.alerts.outbox.Outbox` use these classes, and
both hand out plain records instead.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from tradd.persistence.schema import Base, UtcDateTime, in_list
from tradd.records.entry import TEXT_MAX

SIDES = ("BUY", "SELL")
ORDER_TYPES = ("MKT", "LMT", "STP", "STP LMT")
TIFS = ("DAY", "GTC", "IOC")
TRADING_STATES = ("ACTIVE", "REDUCING", "HALTED")
SNAPSHOT_SOURCES = ("ledger", "broker")
CLIENT_REF_MAX = TEXT_MAX
"""Longest client_ref an entry takes (tradd.records.entry) is what the column holds."""


class OrderStatus(StrEnum):
    """An order's status: IB's own names, plus the three tradd adds around them.

    The members are strings, so `record.status == OrderStatus.FILLED` works on the plain
    strings the ledger returns. There is no CHECK constraint on `orders.status`: the
    ledger validates statuses in Python, so accepting a new IB status needs no migration.
    """

    CREATED = "Created"
    """tradd: persisted, not yet confirmed sent to IB."""
    NOT_SENT = "NotSent"
    """tradd: found after a crash never to have reached IB."""
    UNKNOWN = "Unknown"
    """tradd: open in the ledger, no longer reported by IB, and placed before IB's trading
    day turned (IB lists only today's orders and executions): what became of it cannot be
    known from IB, so it is neither re-sent nor called unsent; the position check decides."""
    REJECTED = "Rejected"
    """tradd: refused (by IB's error callback or tradd's own checks) before it worked."""
    PENDING_SUBMIT = "PendingSubmit"
    PENDING_CANCEL = "PendingCancel"
    PRE_SUBMITTED = "PreSubmitted"
    SUBMITTED = "Submitted"
    API_PENDING = "ApiPending"
    API_CANCELLED = "ApiCancelled"
    CANCELLED = "Cancelled"
    FILLED = "Filled"
    INACTIVE = "Inactive"
    API_UPDATE = "ApiUpdate"
    """ib_async: the order was modified, still working."""
    VALIDATION_ERROR = "ValidationError"
    """ib_async: IB warned about the order (e.g. on a modify); it is still working."""


ORDER_STATUSES = tuple(status.value for status in OrderStatus)
TERMINAL_STATUSES: frozenset[str] = frozenset(
    {
        OrderStatus.FILLED,
        OrderStatus.CANCELLED,
        OrderStatus.API_CANCELLED,
        OrderStatus.INACTIVE,
        OrderStatus.REJECTED,
        OrderStatus.NOT_SENT,
        OrderStatus.UNKNOWN,
    }
)
"""Order statuses after which IB will not act on the order again."""


class OrderSequence(Base):
    """The last order number handed out per strategy: the `seq` in `orderRef`."""

    __tablename__ = "order_sequences"

    strategy: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer)


class Order(Base):
    """One order as the worker intended it, and its latest known state at IB."""

    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("strategy", "seq"),
        Index(None, "strategy", "status"),
        Index(None, "strategy", "ib_order_id"),
        CheckConstraint(in_list("side", SIDES), name="side"),
        CheckConstraint(in_list("order_type", ORDER_TYPES), name="order_type"),
        CheckConstraint(in_list("tif", TIFS), name="tif"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_ref: Mapped[str] = mapped_column(String(96), unique=True)
    strategy: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(Integer)
    symbol: Mapped[str] = mapped_column(String(32))
    side: Mapped[str] = mapped_column(String(4))
    quantity: Mapped[float] = mapped_column(Float)
    order_type: Mapped[str] = mapped_column(String(8))
    limit_price: Mapped[float | None] = mapped_column(Float)
    stop_price: Mapped[float | None] = mapped_column(Float)
    tif: Mapped[str] = mapped_column(String(8))
    parent_ref: Mapped[str | None] = mapped_column(String(96))
    oca_group: Mapped[str | None] = mapped_column(String(96))
    ib_order_id: Mapped[int | None] = mapped_column(BigInteger)
    perm_id: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(32))
    filled: Mapped[float] = mapped_column(Float, default=0.0)
    avg_fill_price: Mapped[float | None] = mapped_column(Float)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class OrderEvent(Base):
    """Each change of an order's state, in order: the audit trail behind `orders`."""

    __tablename__ = "order_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_ref: Mapped[str] = mapped_column(String(96), ForeignKey("orders.order_ref"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(32))
    filled: Mapped[float] = mapped_column(Float)
    remaining: Mapped[float] = mapped_column(Float)
    avg_fill_price: Mapped[float | None] = mapped_column(Float)
    message: Mapped[str | None] = mapped_column(Text)


class Fill(Base):
    """One execution. `exec_id` is unique so a replayed execDetails is stored once."""

    __tablename__ = "fills"
    __table_args__ = (
        Index(None, "strategy", "executed_at"),
        CheckConstraint(in_list("side", SIDES), name="side"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    exec_id: Mapped[str] = mapped_column(String(64), unique=True)
    order_ref: Mapped[str | None] = mapped_column(String(96), index=True)
    strategy: Mapped[str] = mapped_column(String(64))
    symbol: Mapped[str] = mapped_column(String(32))
    side: Mapped[str] = mapped_column(String(4))
    quantity: Mapped[float] = mapped_column(Float)
    price: Mapped[float] = mapped_column(Float)
    executed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ib_order_id: Mapped[int | None] = mapped_column(BigInteger)
    perm_id: Mapped[int | None] = mapped_column(BigInteger)
    account: Mapped[str | None] = mapped_column(String(32))
    commission: Mapped[float | None] = mapped_column(Float)
    realized_pnl: Mapped[float | None] = mapped_column(Float)


class PositionSnapshot(Base):
    """One look at the positions, as the ledger or the broker saw them (for reconciliation).

    A header with its rows in `position_snapshot_rows`, so that a flat book (no rows at
    all) is a snapshot too and "the latest snapshot" is never an older, stale one.
    """

    __tablename__ = "position_snapshots"
    __table_args__ = (
        Index(None, "strategy", "source", "at"),
        CheckConstraint(in_list("source", SNAPSHOT_SOURCES), name="source"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    strategy: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    source: Mapped[str] = mapped_column(String(8))


class PositionSnapshotRow(Base):
    """One symbol's position within a snapshot."""

    __tablename__ = "position_snapshot_rows"
    __table_args__ = (UniqueConstraint("snapshot_id", "symbol"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("position_snapshots.id"))
    symbol: Mapped[str] = mapped_column(String(32))
    quantity: Mapped[float] = mapped_column(Float)
    avg_cost: Mapped[float | None] = mapped_column(Float)
    market_price: Mapped[float | None] = mapped_column(Float)
    market_value: Mapped[float | None] = mapped_column(Float)
    unrealized_pnl: Mapped[float | None] = mapped_column(Float)


class EquitySnapshot(Base):
    """The strategy's account values at one moment: the equity curve and drawdown input."""

    __tablename__ = "equity_snapshots"
    __table_args__ = (Index(None, "strategy", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    strategy: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    net_liquidation: Mapped[float] = mapped_column(Float)
    cash: Mapped[float | None] = mapped_column(Float)
    gross_exposure: Mapped[float | None] = mapped_column(Float)
    realized_pnl: Mapped[float | None] = mapped_column(Float)
    unrealized_pnl: Mapped[float | None] = mapped_column(Float)
    daily_pnl: Mapped[float | None] = mapped_column(Float)


class RiskDecision(Base):
    """What the risk manager decided about an order or the strategy, and the rule why."""

    __tablename__ = "risk_decisions"
    __table_args__ = (Index(None, "strategy", "at"), Index(None, "strategy", "client_ref"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    strategy: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    order_ref: Mapped[str | None] = mapped_column(String(96))
    symbol: Mapped[str | None] = mapped_column(String(32))
    side: Mapped[str | None] = mapped_column(String(4))
    requested_qty: Mapped[float | None] = mapped_column(Float)
    approved_qty: Mapped[float | None] = mapped_column(Float)
    action: Mapped[str] = mapped_column(String(32))
    rule: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    trading_state: Mapped[str] = mapped_column(String(16))
    client_ref: Mapped[str | None] = mapped_column(String(CLIENT_REF_MAX))
    """An operator entry's repeat-safety reference: the worker finds an entry a previous
    process placed by it (tradd.worker.entry), never by the reason's text."""


class ConnectionEvent(Base):
    """The broker connection's history: drops, errors, circuit trips, reconciliations."""

    __tablename__ = "connection_events"
    __table_args__ = (Index(None, "strategy", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    strategy: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    kind: Mapped[str] = mapped_column(String(32))
    code: Mapped[int | None] = mapped_column(Integer)
    message: Mapped[str] = mapped_column(Text)


class StrategyState(Base):
    """Whether a strategy may trade, and the risk baselines that must survive a restart."""

    __tablename__ = "strategy_state"
    __table_args__ = (
        CheckConstraint(in_list("trading_state", TRADING_STATES), name="trading_state"),
    )

    strategy: Mapped[str] = mapped_column(String(64), primary_key=True)
    trading_state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    equity_peak: Mapped[float | None] = mapped_column(Float)
    day: Mapped[date | None] = mapped_column(Date)
    day_start_equity: Mapped[float | None] = mapped_column(Float)


ALERT_SEVERITIES = ("info", "warning", "critical")
DELIVERY_STATUSES = ("pending", "sent", "failed")


class StoredAlert(Base):
    """One alert as it went into the outbox, before any channel was tried (never changed)."""

    __tablename__ = "alerts"
    __table_args__ = (CheckConstraint(in_list("severity", ALERT_SEVERITIES), name="severity"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    kind: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    strategy: Mapped[str | None] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    suppressed: Mapped[int] = mapped_column(Integer, default=0)


class AlertDelivery(Base):
    """One alert on one channel: pending until sent, or failed for good.

    The dispatcher looks up a channel's pending deliveries by due time, hence the index.
    `last_error` is the channel's (scrubbed, truncated) complaint about the latest attempt.
    """

    __tablename__ = "alert_deliveries"
    __table_args__ = (
        UniqueConstraint("alert_id", "channel"),
        Index(None, "channel", "status", "next_attempt_at"),
        CheckConstraint(in_list("status", DELIVERY_STATUSES), name="status"),
        CheckConstraint("attempts >= 0", name="attempts_nonnegative"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"))
    channel: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(8))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    receipt: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


# Registers research_runs, users, api_tokens and backtest_cache in Base.metadata.
from tradd.persistence import (  # noqa: E402, F401
    models_cache,
    models_drift,
    models_live,
    models_proposals,
    models_runs,
    models_schedules,
    models_users,
    models_web,
)
