"""Live sessions and bars: what each worker ran with and what its strategy read.

Revision ID: 0011_live_bars
Revises: 0010_schedules
Create Date: 2026-12-07

Frozen like every revision: lengths are written out here, not imported from
`models_live`. Constraint and index names follow `models.NAMING_CONVENTION`.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_live_bars"
down_revision = "0010_schedules"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "live_sessions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("strategy", sa.String(64), nullable=False),
        sa.Column("started_at", TIMESTAMP, nullable=False),
        sa.Column("strategy_path", sa.Text(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("symbols", sa.JSON(), nullable=False),
        sa.Column("bar_seconds", sa.Integer(), nullable=False),
        sa.Column("position_pct", sa.Float(), nullable=False),
        sa.Column("commission", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_live_sessions")),
    )
    op.create_index(
        op.f("ix_live_sessions_strategy_started_at"), "live_sessions", ["strategy", "started_at"]
    )
    op.create_table(
        "live_bars",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("strategy", sa.String(64), nullable=False),
        sa.Column("symbol", sa.String(32), nullable=False),
        sa.Column("bar_seconds", sa.Integer(), nullable=False),
        sa.Column("start", TIMESTAMP, nullable=False),
        sa.Column("open", sa.Float(), nullable=False),
        sa.Column("high", sa.Float(), nullable=False),
        sa.Column("low", sa.Float(), nullable=False),
        sa.Column("close", sa.Float(), nullable=False),
        sa.Column("volume", sa.Float(), nullable=False),
        sa.Column("historical", sa.Boolean(), nullable=False),
        sa.Column("received_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_live_bars")),
    )
    op.create_index(op.f("ix_live_bars_session_id"), "live_bars", ["session_id"])
    op.create_index(op.f("ix_live_bars_strategy_start"), "live_bars", ["strategy", "start"])


def downgrade() -> None:
    op.drop_table("live_bars")
    op.drop_table("live_sessions")
