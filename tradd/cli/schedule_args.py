"""`[[schedules]]` `args` parsed by the command's own parser, without running it.

A schedule's arguments go to `tradd <kind>` at its due time, perhaps at night; an option
the command would refuse must fail `tradd config check` (and a start or reload of the
daemon), not the job. So the whole command line the scheduler will run
(`tradd.supervisor.schedules.argv.command_args`, with a placeholder run id) is parsed by
the command's click parser (`make_context`, resilient parsing off): an unknown option, a
bad value, a missing required option is the parser's own message, under the schedule's
key path.
"""

from __future__ import annotations

from typing import Any

from typer._click.core import Command
from typer._click.exceptions import ClickException
from typer.core import TyperGroup
from typer.exceptions import Exit

from tradd.cli.common import join_list_arguments
from tradd.config.settings import Settings
from tradd.config.watch import ScheduleSettings
from tradd.errors import ConfigError, TraddError
from tradd.supervisor.schedules.argv import PROPOSING, command_args

PLACEHOLDER_ID = "{kind}-20260101-000000"


def schedule_arg_problems(settings: Settings, root: Command) -> list[str]:
    """One line per schedule whose command line `tradd`'s parser (`root`) refuses."""
    problems = []
    for schedule in settings.schedules:
        problem = _refused(schedule, root, settings)
        if problem is not None:
            where = "" if problem.startswith("schedules.") else f"schedules.{schedule.name}.args: "
            problems.append(where + problem)
    return problems


def _refused(schedule: ScheduleSettings, root: Command, settings: Settings) -> str | None:
    command = root.commands.get(schedule.kind) if isinstance(root, TyperGroup) else None
    if command is None:
        return f"this tradd has no `tradd {schedule.kind}` command"
    if schedule.kind == "drift" and schedule.strategy is None:
        return None  # reported by the loader under schedules.NAME.strategy
    job_id = PLACEHOLDER_ID.format(kind=schedule.kind)
    argv = command_args(schedule, job_id, settings.state_dir / "web" / "jobs" / job_id, None)
    args = join_list_arguments(argv)
    try:
        with command.make_context(schedule.kind, args, resilient_parsing=False) as ctx:
            parsed = dict(ctx.params)
    except ClickException as exc:
        return f"{exc.format_message()} (got {list(schedule.args)})"
    except TraddError as exc:  # an option's own check (a date, ...)
        return f"{exc} (got {list(schedule.args)})"
    except Exit:
        return f"the arguments do not run the command (got {list(schedule.args)})"
    return _target_refused(settings, schedule, parsed)


def _target_refused(
    settings: Settings, schedule: ScheduleSettings, parsed: dict[str, Any]
) -> str | None:
    """A proposing schedule's live strategy must be able to take the proposal (the same
    class, a `params_file`): found now, not by the job at night."""
    if schedule.kind not in PROPOSING or schedule.strategy is None:
        return None
    from tradd.research.promotion import check_target

    try:
        check_target(settings, schedule.strategy, str(parsed.get("strategy") or ""))
    except ConfigError as exc:
        return f"schedules.{schedule.name}.strategy: {exc}"
    return None
