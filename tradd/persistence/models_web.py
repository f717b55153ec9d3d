"""The web console's tables: its research jobs and the audit of its actions.

Kept apart from `models` (the live trading tables) because only `tradd.web` reads and
writes them. `models` imports this module at its end so that `Base.metadata` knows the
tables; the revision `migrations/versions/r0008_web.py` creates them.

A job's id is the id of the research run it becomes (`scan-20261207-ab12cd`): the console
chooses it, passes it to the command it starts, and reads the run's progress and results
under it. `web_jobs` only holds what the runs table cannot: who asked, the queue, the
process started for it and a cancel request. CLI runs have no row here; admins see them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tradd.persistence.schema import Base, UtcDateTime, in_list

JOB_STATES = ("queued", "started", "failed", "cancelled")
"""The launch state: `started` hands over to the run's own status."""
JOB_ID_MAX = 64
OWNER_MAX = 32


class WebJobRow(Base):
    """One research job asked for in the console."""

    __tablename__ = "web_jobs"
    __table_args__ = (
        CheckConstraint(in_list("state", JOB_STATES), name="state"),
        Index(None, "owner", "created_at"),
        Index(None, "state"),
    )

    id: Mapped[str] = mapped_column(String(JOB_ID_MAX), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    owner: Mapped[str] = mapped_column(String(OWNER_MAX))
    state: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    host: Mapped[str | None] = mapped_column(String(255), nullable=True)
    pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    output: Mapped[str] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)


class AuditRow(Base):
    """One state-changing action on the trading side: who, when, what was asked, what
    came of it. Never updated, never deleted by housekeeping."""

    __tablename__ = "audit_log"
    __table_args__ = (Index(None, "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    user: Mapped[str] = mapped_column(String(OWNER_MAX))
    action: Mapped[str] = mapped_column(String(32))
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    ok: Mapped[bool] = mapped_column(Boolean)
