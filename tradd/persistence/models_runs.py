"""The research runs table: each scan, optimization or walk-forward as a persisted job.

Kept apart from `models` (the live trading tables) because only the research commands
write it. Both build on `schema`; `models` imports this module at its end so that
`Base.metadata` (and with it the schema check in the tests) knows the table. Like every
model, it describes the schema; `migrations/versions/r0003_runs.py` creates it.

`kind` has no CHECK constraint on purpose: a new kind of research job (say, a
comparison) must not need a migration; `tradd.research.runs.store` validates it. The
statuses are a fixed life cycle, so they are checked in the database too.

`host`, `pid` and `process_start` say which process runs the run, `lease_s` and `alive_at`
when it last gave a sign of life (`tradd.research.runs.lease`): what lets a reader mark a
run whose process died `failed` instead of leaving it `running` forever
(`migrations/versions/r0005_run_lease.py` adds them; rows from before it have none).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tradd.persistence.schema import Base, UtcDateTime, in_list

RUN_STATUSES = ("running", "complete", "failed", "interrupted")
HOST_MAX = 255
"""A fully qualified host name fits (253)."""
PROCESS_START_MAX = 80
"""`<boot id>/<clock ticks since boot>`: 36 + 1 + at most 20 digits."""


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
    host: Mapped[str | None] = mapped_column(String(HOST_MAX))
    pid: Mapped[int | None] = mapped_column(Integer)
    process_start: Mapped[str | None] = mapped_column(String(PROCESS_START_MAX))
    lease_s: Mapped[float | None] = mapped_column(Float)
    alive_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
