"""`schedules`: list the daemon's `[[schedules]]` with their last and next runs, or fire
one now (`tradctl schedules list|run NAME`).

Not a state-changing command in the control server's sense (it starts a research job, it
touches no strategy), so it runs beside a flatten or reload. The scheduler's database
work runs in a thread, off the supervisor's loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tradd.control.command_base import Command
from tradd.control.protocol import ErrorCode, ProtocolError
from tradd.records.base import wire
from tradd.records.schedules import LastRun, ScheduleList, ScheduleRow, ScheduleRunReply
from tradd.supervisor.schedules.scheduler import Scheduler, ScheduleState, UnknownSchedule
from tradd.supervisor.schedules.timing import describe

if TYPE_CHECKING:
    from tradd.supervisor.daemon import Supervisor


class Schedules(Command):
    """`{"action": "list"}` or `{"action": "run", "name": NAME}`."""

    name, mutating = "schedules", False
    arguments = frozenset({"action", "name"})

    def validate(self, args: Mapping[str, Any]) -> dict[str, Any]:
        out = super().validate(args)
        action = out.get("action")
        if action not in ("list", "run"):
            raise ProtocolError(
                ErrorCode.BAD_ARGUMENT, f"schedules: action must be list or run, got {action!r}"
            )
        name = out.get("name")
        if action == "run" and (not isinstance(name, str) or not name):
            raise ProtocolError(
                ErrorCode.BAD_ARGUMENT,
                f"schedules run: name must be a schedule's name, got {name!r}",
            )
        return out

    async def execute(self, daemon: Supervisor, args: dict[str, Any]) -> Any:
        scheduler = daemon.scheduler
        if scheduler is None and daemon.settings.schedules and daemon.options.schedules:
            raise ProtocolError(ErrorCode.UNAVAILABLE, "schedules: the scheduler is starting")
        if args["action"] == "list":
            if scheduler is None:
                return wire(ScheduleList(schedules=()))
            states = await asyncio.to_thread(scheduler.states)
            return wire(ScheduleList(schedules=tuple(_row(s) for s in states)))
        return wire(await _run(scheduler, args["name"]))


async def _run(scheduler: Scheduler | None, name: str) -> ScheduleRunReply:
    if scheduler is None:
        raise ProtocolError(ErrorCode.BAD_ARGUMENT,
                            f"schedules run: no schedule {name!r} (none configured)")  # fmt: skip
    try:
        fire = await asyncio.to_thread(scheduler.run_now, name)
    except UnknownSchedule as exc:
        raise ProtocolError(ErrorCode.BAD_ARGUMENT, f"schedules run: {exc.args[0]}") from None
    return ScheduleRunReply(name=name, job_id=fire.job_id, fired_at=fire.fired_at)


def _row(state: ScheduleState) -> ScheduleRow:
    s, last = state.schedule, state.last
    last_run = None
    if last is not None:
        last_run = LastRun(job_id=last.job_id, due_at=last.due_at, fired_at=last.fired_at,
                           manual=last.manual, state=state.last_state or "unknown")  # fmt: skip
    return ScheduleRow(name=s.name, kind=s.kind, when=describe(s), enabled=s.enabled,
                       owner=s.owner, missed=s.missed, strategy=s.strategy, last=last_run,
                       next_due=state.next_due)  # fmt: skip


SCHEDULE_COMMANDS: tuple[Command, ...] = (Schedules(),)
