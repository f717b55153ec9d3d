"""The initial schema: orders and their sequence, fills, snapshots, decisions, state.

Revision ID: 0001_initial
Revises:
Create Date: 2026-05-10

Written by hand, and frozen: literal values (allowed sides, order types, ...) are
repeated here rather than imported from `models`, because a revision must keep
creating the schema it created on the day it was written. Constraint names follow
`models.NAMING_CONVENTION`; `op.f` keeps them exactly as given.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def _pk(table: str, *columns: str) -> sa.PrimaryKeyConstraint:
    return sa.PrimaryKeyConstraint(*columns, name=op.f(f"pk_{table}"))


def _check(table: str, name: str, sql: str) -> sa.CheckConstraint:
    return sa.CheckConstraint(sql, name=op.f(f"ck_{table}_{name}"))


def _index(table: str, *columns: str, unique: bool = False) -> None:
    name = op.f(f"ix_{table}_{'_'.join(columns)}")
    op.create_index(name, table, list(columns), unique=unique)


def _strategy_timeline(table: str, *items: sa.schema.SchemaItem) -> None:
    """A table of timestamped rows per strategy, read back by strategy and time."""
    op.create_table(
        table,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("strategy", sa.String(64), nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        *items,
        _pk(table, "id"),
    )
    _index(table, "strategy", "at")


def upgrade() -> None:
    op.create_table(
        "order_sequences",
        sa.Column("strategy", sa.String(64), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        _pk("order_sequences", "strategy"),
    )

    op.create_table(
        "orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_ref", sa.String(96), nullable=False),
        sa.Column("strategy", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("side", sa.String(4), nullable=False),
        sa.Column("quantity", sa.Float(), nullable=False),
        sa.Column("order_type", sa.String(8), nullable=False),
        sa.Column("limit_price", sa.Float(), nullable=True),
        sa.Column("stop_price", sa.Float(), nullable=True),
        sa.Column("tif", sa.String(8), nullable=False),
        sa.Column("parent_ref", sa.String(96), nullable=True),
        sa.Column("oca_group", sa.String(96), nullable=True),
        sa.Column("ib_order_id", sa.BigInteger(), nullable=True),
        sa.Column("perm_id", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("filled", sa.Float(), nullable=False),
        sa.Column("avg_fill_price", sa.Float(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        _pk("orders", "id"),
        sa.UniqueConstraint("order_ref", name=op.f("uq_orders_order_ref")),
        sa.UniqueConstraint("strategy", "seq", name=op.f("uq_orders_strategy_seq")),
        _check("orders", "side", "side IN ('BUY', 'SELL')"),
        _check("orders", "order_type", "order_type IN ('MKT', 'LMT', 'STP', 'STP LMT')"),
        _check("orders", "tif", "tif IN ('DAY', 'GTC', 'IOC')"),
        _check("orders", "quantity_positive", "quantity > 0"),
    )
    _index("orders", "strategy", "status")
    _index("orders", "strategy", "ib_order_id")

    op.create_table(
        "order_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_ref", sa.String(96), nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("filled", sa.Float(), nullable=False),
        sa.Column("remaining", sa.Float(), nullable=False),
        sa.Column("avg_fill_price", sa.Float(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        _pk("order_events", "id"),
        sa.ForeignKeyConstraint(
            ["order_ref"], ["orders.order_ref"], name=op.f("fk_order_events_order_ref_orders")
        ),
    )
    _index("order_events", "order_ref")

    op.create_table(
        "fills",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("exec_id", sa.String(64), nullable=False),
        sa.Column("order_ref", sa.String(96), nullable=True),
        sa.Column("strategy", sa.String(64), nullable=False),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("side", sa.String(4), nullable=False),
        sa.Column("quantity", sa.Float(), nullable=False),
        sa.Column("price", sa.Float(), nullable=False),
        sa.Column("executed_at", TIMESTAMP, nullable=False),
        sa.Column("ib_order_id", sa.BigInteger(), nullable=True),
        sa.Column("perm_id", sa.BigInteger(), nullable=True),
        sa.Column("account", sa.String(32), nullable=True),
        sa.Column("commission", sa.Float(), nullable=True),
        sa.Column("realized_pnl", sa.Float(), nullable=True),
        _pk("fills", "id"),
        sa.UniqueConstraint("exec_id", name=op.f("uq_fills_exec_id")),
        _check("fills", "side", "side IN ('BUY', 'SELL')"),
        _check("fills", "quantity_positive", "quantity > 0"),
    )
    _index("fills", "order_ref")
    _index("fills", "strategy", "executed_at")

    op.create_table(
        "position_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("strategy", sa.String(64), nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("source", sa.String(8), nullable=False),
        _pk("position_snapshots", "id"),
        _check("position_snapshots", "source", "source IN ('ledger', 'broker')"),
    )
    _index("position_snapshots", "strategy", "source", "at")
    op.create_table(
        "position_snapshot_rows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("snapshot_id", sa.Integer(), nullable=False),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("quantity", sa.Float(), nullable=False),
        sa.Column("avg_cost", sa.Float(), nullable=True),
        sa.Column("market_price", sa.Float(), nullable=True),
        sa.Column("market_value", sa.Float(), nullable=True),
        sa.Column("unrealized_pnl", sa.Float(), nullable=True),
        _pk("position_snapshot_rows", "id"),
        sa.ForeignKeyConstraint(
            ["snapshot_id"],
            ["position_snapshots.id"],
            name=op.f("fk_position_snapshot_rows_snapshot_id_position_snapshots"),
        ),
        sa.UniqueConstraint(
            "snapshot_id", "symbol", name=op.f("uq_position_snapshot_rows_snapshot_id_symbol")
        ),
    )
    _strategy_timeline(
        "equity_snapshots",
        sa.Column("net_liquidation", sa.Float(), nullable=False),
        sa.Column("cash", sa.Float(), nullable=True),
        sa.Column("gross_exposure", sa.Float(), nullable=True),
        sa.Column("realized_pnl", sa.Float(), nullable=True),
        sa.Column("unrealized_pnl", sa.Float(), nullable=True),
        sa.Column("daily_pnl", sa.Float(), nullable=True),
    )
    _strategy_timeline(
        "risk_decisions",
        sa.Column("order_ref", sa.String(96), nullable=True),
        sa.Column("symbol", sa.String(32), nullable=True),
        sa.Column("side", sa.String(4), nullable=True),
        sa.Column("requested_qty", sa.Float(), nullable=True),
        sa.Column("approved_qty", sa.Float(), nullable=True),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("rule", sa.String(64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("trading_state", sa.String(16), nullable=False),
    )
    _strategy_timeline(
        "connection_events",
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("code", sa.Integer(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
    )

    op.create_table(
        "strategy_state",
        sa.Column("strategy", sa.String(64), nullable=False),
        sa.Column("trading_state", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.Column("equity_peak", sa.Float(), nullable=True),
        sa.Column("day", sa.Date(), nullable=True),
        sa.Column("day_start_equity", sa.Float(), nullable=True),
        _pk("strategy_state", "strategy"),
        _check(
            "strategy_state", "trading_state", "trading_state IN ('ACTIVE', 'REDUCING', 'HALTED')"
        ),
    )


def downgrade() -> None:
    for table in (
        "strategy_state",
        "connection_events",
        "risk_decisions",
        "equity_snapshots",
        "position_snapshot_rows",
        "position_snapshots",
        "fills",
        "order_events",
        "orders",
        "order_sequences",
    ):
        op.drop_table(table)
