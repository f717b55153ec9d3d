"""An operator entry's client_ref gets a column of its own in risk_decisions.

Revision ID: 0004_client_ref
Revises: 0003_runs
Create Date: 2026-06-15

Until now the worker wrote the ref at the end of the decision's free-text reason,
`"...; operator entry by X (client_ref R)"`, and found it again with `endswith`. The
column is filled from those reasons here, so a ref used before the upgrade is still
refused after it (repeat-safety holds across the upgrade). Frozen like every revision:
the reason's old shape is written out here, not imported. Index names follow
`models.NAMING_CONVENTION`.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_client_ref"
down_revision = "0003_runs"
branch_labels = None
depends_on = None

TAG = " (client_ref "
"""What preceded the ref in an old reason; the reason ended with ")" right after it."""
CLIENT_REF_MAX = 64

decisions = sa.table(
    "risk_decisions",
    sa.column("id", sa.Integer()),
    sa.column("reason", sa.Text()),
    sa.column("client_ref", sa.String(CLIENT_REF_MAX)),
)


def upgrade() -> None:
    op.add_column("risk_decisions", sa.Column("client_ref", sa.String(CLIENT_REF_MAX)))
    op.create_index(
        op.f("ix_risk_decisions_strategy_client_ref"),
        "risk_decisions",
        ["strategy", "client_ref"],
    )
    _backfill(op.get_bind())


def downgrade() -> None:
    op.drop_index(op.f("ix_risk_decisions_strategy_client_ref"), table_name="risk_decisions")
    with op.batch_alter_table("risk_decisions") as batch:
        batch.drop_column("client_ref")


def old_ref(reason: str) -> str | None:
    """The ref an old reason ends with, or None (the last tag counts: as `endswith` did)."""
    start = reason.rfind(TAG)
    if start < 0 or not reason.endswith(")"):
        return None
    ref = reason[start + len(TAG) : -1]
    return ref if 0 < len(ref) <= CLIENT_REF_MAX else None


def _backfill(connection: sa.Connection) -> None:
    rows = connection.execute(
        sa.select(decisions.c.id, decisions.c.reason).where(
            decisions.c.reason.like("%" + TAG + "%)")
        )
    ).all()
    for row_id, reason in rows:
        ref = old_ref(reason)
        if ref is not None:
            connection.execute(
                sa.update(decisions).where(decisions.c.id == row_id).values(client_ref=ref)
            )
