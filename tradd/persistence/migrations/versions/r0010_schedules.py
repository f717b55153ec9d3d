"""Schedule fires: each scheduled research run the daemon fired.

Revision ID: 0010_schedules
Revises: 0009_drift_results
Create Date: 2026-12-07

Frozen like every revision: lengths are written out here, not imported from
`models_schedules`. Constraint and index names follow `models.NAMING_CONVENTION`.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_schedules"
down_revision = "0009_drift_results"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "schedule_fires",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("schedule", sa.String(48), nullable=False),
        sa.Column("due_at", TIMESTAMP, nullable=False),
        sa.Column("job_id", sa.String(64), nullable=False),
        sa.Column("manual", sa.Boolean(), nullable=False),
        sa.Column("fired_at", TIMESTAMP, nullable=False),
        sa.Column("reported_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedule_fires")),
        sa.UniqueConstraint(
            "schedule", "due_at", "manual", name=op.f("uq_schedule_fires_schedule_due_at_manual")
        ),
    )
    op.create_index(
        op.f("ix_schedule_fires_schedule_fired_at"), "schedule_fires", ["schedule", "fired_at"]
    )


def downgrade() -> None:
    op.drop_table("schedule_fires")
