"""`ScheduleFires`: claim, list and report the scheduled runs the daemon fired.

`claim` is the one guard against firing twice: an INSERT ... ON CONFLICT DO NOTHING on
UNIQUE (schedule, due_at, manual), written before the job's process starts, so two daemons on one
database, or one restarted between the claim and the start, never run one due time twice.
`claim_report` sets `reported_at` once, so each ended job is alerted once. Records handed
out are frozen.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from tradd.persistence.models_schedules import ScheduleFireRow
from tradd.persistence.transactions import dialect_insert, read_transaction, write_transaction


@dataclass(frozen=True)
class ScheduleFire:
    id: int
    schedule: str
    due_at: datetime
    job_id: str
    manual: bool
    fired_at: datetime
    reported_at: datetime | None


class ScheduleFires:
    def __init__(self, sessions: sessionmaker[Session], clock: Callable[[], datetime]) -> None:
        self._sessions = sessions
        self._clock = clock

    def claim(
        self, schedule: str, due_at: datetime, job_id: str, manual: bool = False
    ) -> ScheduleFire | None:
        """Record that `schedule`'s run due at `due_at` is being fired as `job_id`; None
        when that due time was already fired (by this daemon or another)."""
        values = {"schedule": schedule, "due_at": due_at, "job_id": job_id, "manual": manual,
                  "fired_at": self._clock()}  # fmt: skip
        with write_transaction(self._sessions) as session:
            insert = dialect_insert(session, ScheduleFireRow).values(**values)
            statement = insert.on_conflict_do_nothing(
                index_elements=["schedule", "due_at", "manual"]
            )
            if session.execute(statement.returning(ScheduleFireRow.id)).first() is None:
                return None
            row = session.scalars(
                select(ScheduleFireRow).where(
                    ScheduleFireRow.schedule == schedule,
                    ScheduleFireRow.due_at == due_at,
                    ScheduleFireRow.manual.is_(manual),
                )
            ).one()
            return _record(row)

    def last(self, schedule: str) -> ScheduleFire | None:
        """The latest fire of `schedule` (manual ones included), by when it was fired."""
        query = (
            select(ScheduleFireRow)
            .where(ScheduleFireRow.schedule == schedule)
            .order_by(ScheduleFireRow.fired_at.desc(), ScheduleFireRow.id.desc())
            .limit(1)
        )
        with read_transaction(self._sessions) as session:
            row = session.scalars(query).first()
            return _record(row) if row is not None else None

    def last_due(self, schedule: str) -> datetime | None:
        """The latest due time fired by the timetable (not manual runs): where the next
        look for due runs starts."""
        query = (
            select(ScheduleFireRow.due_at)
            .where(ScheduleFireRow.schedule == schedule, ScheduleFireRow.manual.is_(False))
            .order_by(ScheduleFireRow.due_at.desc())
            .limit(1)
        )
        with read_transaction(self._sessions) as session:
            return session.scalars(query).first()

    def unreported(self) -> list[ScheduleFire]:
        """Fires whose job's end has not been reported: what the daemon watches."""
        query = (
            select(ScheduleFireRow)
            .where(ScheduleFireRow.reported_at.is_(None))
            .order_by(ScheduleFireRow.fired_at)
        )
        with read_transaction(self._sessions) as session:
            return [_record(r) for r in session.scalars(query)]

    def claim_report(self, fire_id: int) -> bool:
        """True once per fire: the caller reports its job's end."""
        with write_transaction(self._sessions) as session:
            result = session.execute(
                update(ScheduleFireRow)
                .where(ScheduleFireRow.id == fire_id, ScheduleFireRow.reported_at.is_(None))
                .values(reported_at=self._clock())
            )
            return bool(getattr(result, "rowcount", 0))


def _record(row: ScheduleFireRow) -> ScheduleFire:
    return ScheduleFire(
        id=row.id, schedule=row.schedule, due_at=row.due_at, job_id=row.job_id,
        manual=bool(row.manual), fired_at=row.fired_at, reported_at=row.reported_at,
    )  # fmt: skip
