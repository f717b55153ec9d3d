"""The backtest cache: results of identical backtests are reused, not run twice.

Revision ID: 0007_backtest_cache
Revises: 0006_users
Create Date: 2026-12-08

Frozen like every revision: lengths are written out here, not imported from
`models_cache`. Constraint and index names follow `models.NAMING_CONVENTION`. The table
only ever holds what can be computed again, so the downgrade simply drops it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_backtest_cache"
down_revision = "0006_users"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "backtest_cache",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("last_used_at", TIMESTAMP, nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_backtest_cache")),
    )
    op.create_index(op.f("ix_backtest_cache_last_used_at"), "backtest_cache", ["last_used_at"])


def downgrade() -> None:
    op.drop_table("backtest_cache")
