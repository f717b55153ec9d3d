"""The research runs table: each scan, optimization or walk-forward as a persisted job.

Kept apart from `models` (the live trading tables) because only the research commands
write it. Both build on `schema`; `models` imports this module at its end so that
`Base.metadata` (and with it the schema check in the tests) knows the table. Like every
model, it describes the schema; `migrations/versions/r0003_runs.py` creates it.

`kind` has no CHECK constraint on purpose: a new kind of research job (say, a
comparison) must not need a migration; `tradd.research.runs.store` validates it. The
statuses are a fixed life cycle, so they are checked in the database too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tradd.persistence.schema import Base, UtcDateTime, in_list

RUN_STATUSES = ("running", "complete", "failed", "interrupted")


class ResearchRun(Base):
    """One research job: what was asked (`request`), how far it got, and what it found."""

    __tablename__ = "research_runs"
    __table_args__ = (
        Index(None, "created_at"),
        Index(None, "kind", "created_at"),
        CheckConstraint(in_list("status", RUN_STATUSES), name="status"),
        CheckConstraint("progress_done >= 0", name="progress_nonnegative"),
    )

    id: Mapped[str] = mapped_column(String(48), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int | None] = mapped_column(Integer)
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    output: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
