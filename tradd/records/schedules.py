"""What `tradctl schedules` and the console's schedules route carry: frozen, strict.

The daemon answers `{"cmd": "schedules", "args": {"action": "list"}}` with a
`ScheduleList` and `{"action": "run", "name": N}` with a `ScheduleRunReply`; both sides
build and read them through these records, so a field one side does not know is an error.
"""

from __future__ import annotations

from datetime import datetime

from tradd.records.base import Record


class LastRun(Record):
    job_id: str
    due_at: datetime
    fired_at: datetime
    manual: bool
    state: str
    """running, complete, failed, interrupted (the run's), or the job's own state."""


class ScheduleRow(Record):
    name: str
    kind: str
    when: str
    """`cron 30 17 * * 1-5 (America/New_York)` or `30 min after the XNYS close`."""
    enabled: bool
    owner: str
    missed: str
    strategy: str | None
    last: LastRun | None
    next_due: datetime | None


class ScheduleList(Record):
    schedules: tuple[ScheduleRow, ...]


class ScheduleRunReply(Record):
    name: str
    job_id: str
    fired_at: datetime
