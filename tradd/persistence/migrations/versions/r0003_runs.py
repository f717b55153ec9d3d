"""Research runs: scans, optimizations and walk-forwards as persisted jobs.

Revision ID: 0003_runs
Revises: 0002_alerts
Create Date: 2026-06-01

Frozen like every revision: the allowed statuses are written out here, not imported
from `models_runs`. Constraint names follow `models.NAMING_CONVENTION`.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_runs"
down_revision = "0002_alerts"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "research_runs",
        sa.Column("id", sa.String(48), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("finished_at", TIMESTAMP, nullable=True),
        sa.Column("progress_done", sa.Integer(), nullable=False),
        sa.Column("progress_total", sa.Integer(), nullable=True),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.Column("output", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_research_runs")),
        sa.CheckConstraint(
            "status IN ('running', 'complete', 'failed', 'interrupted')",
            name=op.f("ck_research_runs_status"),
        ),
        sa.CheckConstraint(
            "progress_done >= 0", name=op.f("ck_research_runs_progress_nonnegative")
        ),
    )
    op.create_index(op.f("ix_research_runs_created_at"), "research_runs", ["created_at"])
    op.create_index(
        op.f("ix_research_runs_kind_created_at"), "research_runs", ["kind", "created_at"]
    )


def downgrade() -> None:
    op.drop_table("research_runs")
