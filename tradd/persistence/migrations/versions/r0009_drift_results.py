"""Drift results: what `tradd drift` found per live strategy and period.

Revision ID: 0009_drift_results
Revises: 0008_web
Create Date: 2026-12-07

Frozen like every revision: lengths are written out here, not imported from
`models_drift`. Constraint and index names follow `models.NAMING_CONVENTION`.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_drift_results"
down_revision = "0008_web"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "drift_results",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("strategy", sa.String(24), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=True),
        sa.Column("computed_at", TIMESTAMP, nullable=False),
        sa.Column("period_from", sa.Date(), nullable=False),
        sa.Column("period_to", sa.Date(), nullable=False),
        sa.Column("live_pnl", sa.Float(), nullable=False),
        sa.Column("replay_pnl", sa.Float(), nullable=False),
        sa.Column("drift_pnl", sa.Float(), nullable=False),
        sa.Column("drift_pct", sa.Float(), nullable=False),
        sa.Column("components", sa.JSON(), nullable=False),
        sa.Column("report_path", sa.Text(), nullable=True),
        sa.Column("alerted_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drift_results")),
    )
    op.create_index(
        op.f("ix_drift_results_strategy_computed_at"), "drift_results", ["strategy", "computed_at"]
    )


def downgrade() -> None:
    op.drop_table("drift_results")
