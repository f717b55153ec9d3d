"""The web console: its jobs and the audit of its actions.

Revision ID: 0008_web
Revises: 0007_backtest_cache
Create Date: 2026-12-07

Frozen like every revision: lengths are written out here, not imported from
`models_web`. Constraint and index names follow `models.NAMING_CONVENTION`.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_web"
down_revision = "0007_backtest_cache"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "web_jobs",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("owner", sa.String(32), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("started_at", TIMESTAMP, nullable=True),
        sa.Column("finished_at", TIMESTAMP, nullable=True),
        sa.Column("host", sa.String(255), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("output", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "state IN ('queued', 'started', 'failed', 'cancelled')",
            name=op.f("ck_web_jobs_state"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_jobs")),
    )
    op.create_index(op.f("ix_web_jobs_owner_created_at"), "web_jobs", ["owner", "created_at"])
    op.create_index(op.f("ix_web_jobs_state"), "web_jobs", ["state"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("user", sa.String(32), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"])


def downgrade() -> None:
    op.drop_table("audit_log")
    op.drop_table("web_jobs")
