"""Research runs record who runs them and a lease, so a run whose process died is reaped.

Revision ID: 0005_run_lease
Revises: 0004_client_ref
Create Date: 2026-12-07

Five nullable columns on research_runs: `host`, `pid` and `process_start` (which process
runs the run; the start time tells a reused pid from the original), `lease_s` (how often
that process renews its lease) and `alive_at` (when it last did). Rows from before this
revision keep them empty; `tradd.research.runs.lease` reaps such a row, if still
`running`, by its `created_at`. Self-contained: no data is rewritten, nothing imported
from the models (frozen like every revision).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_run_lease"
down_revision = "0004_client_ref"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)
COLUMNS = ("host", "pid", "process_start", "lease_s", "alive_at")


def upgrade() -> None:
    op.add_column("research_runs", sa.Column("host", sa.String(255), nullable=True))
    op.add_column("research_runs", sa.Column("pid", sa.Integer(), nullable=True))
    op.add_column("research_runs", sa.Column("process_start", sa.String(80), nullable=True))
    op.add_column("research_runs", sa.Column("lease_s", sa.Float(), nullable=True))
    op.add_column("research_runs", sa.Column("alive_at", TIMESTAMP, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("research_runs") as batch:
        for column in reversed(COLUMNS):
            batch.drop_column(column)
