"""The `proposals` table: parameter sets proposed for a live strategy, with their evidence.

`tradd optimize|walkforward --propose-for STRATEGY` adds a row; `tradctl proposals
approve|reject|rollback`, the console and the daemon's auto-promotion move it through its
states (pending -> approved -> applied -> rolled_back, or rejected, or superseded by a
newer proposal). `version` is the parameter-file version an applied proposal wrote, so a
rollback knows which version to go back to. `models` imports this module at its end; the
revision `migrations/versions/r0012_proposals.py` creates the table.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tradd.persistence.schema import Base, UtcDateTime

STRATEGY_MAX = 24
RUN_ID_MAX = 64
USER_MAX = 64


class ProposalRow(Base):
    __tablename__ = "proposals"
    __table_args__ = (Index(None, "strategy", "state"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    strategy: Mapped[str] = mapped_column(String(STRATEGY_MAX))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    run_id: Mapped[str | None] = mapped_column(String(RUN_ID_MAX), nullable=True)
    kind: Mapped[str] = mapped_column(String(16))
    """optimize or walkforward."""
    strategy_class: Mapped[str] = mapped_column(Text)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON)
    gates: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    passed: Mapped[bool] = mapped_column(Boolean)
    state: Mapped[str] = mapped_column(String(16))
    decided_by: Mapped[str | None] = mapped_column(String(USER_MAX), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    """The parameter-file version this proposal wrote when applied."""
    note: Mapped[str] = mapped_column(Text, default="")
    """Why the last decision went as it did (a failed reload, a rollback's reason)."""
