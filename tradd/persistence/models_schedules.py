"""The `schedule_fires` table: each scheduled run the daemon fired (or is firing).

A row is written BEFORE the job's process starts, under UNIQUE (schedule, due_at,
manual): a due run is fired at most once, even by two daemons on one database or across
a restart; a manual run (`tradctl schedules run`, due "now") never takes a timetable due
time's place.
`job_id` is the research run (and `web_jobs` row) it became; `reported_at` is set when its
end was alerted, so each ended job is reported exactly once. `models` imports this module
at its end; the revision `migrations/versions/r0010_schedules.py` creates the table.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tradd.persistence.schema import Base, UtcDateTime

SCHEDULE_MAX = 48
JOB_ID_MAX = 64


class ScheduleFireRow(Base):
    """One firing of one schedule: the due time it stood for, the job it started."""

    __tablename__ = "schedule_fires"
    __table_args__ = (
        UniqueConstraint("schedule", "due_at", "manual"),
        Index(None, "schedule", "fired_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    schedule: Mapped[str] = mapped_column(String(SCHEDULE_MAX))
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    """The due time (a manual run: the moment it was asked for)."""
    job_id: Mapped[str] = mapped_column(String(JOB_ID_MAX))
    manual: Mapped[bool] = mapped_column(Boolean, default=False)
    fired_at: Mapped[datetime] = mapped_column(UtcDateTime)
    reported_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
