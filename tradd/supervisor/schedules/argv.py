"""The command line of a scheduled run: `python -m tradd <kind> ... <args>`.

The same command a trader would type, so a scheduled job and a console job and a
terminal run share one code path and one run record. The scheduler adds what makes it a
job (`--run-id`, `--output`, `--config`); the schedule's `strategy` becomes drift's
positional STRATEGY, or `--propose-for STRATEGY` on an optimize or walk-forward (a
parameter proposal for that live strategy). `args` may not give what is added here
(`tradd.config.watch.SCHEDULER_OPTIONS`): the config check refuses it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tradd.config.watch import ScheduleSettings

PROPOSING = ("optimize", "walkforward")


def command_args(schedule: ScheduleSettings, job_id: str, output: Path,
                 config: Path | None) -> list[str]:  # fmt: skip
    """The arguments after `tradd <kind>` (what the config check parses, too)."""
    argv: list[str] = []
    if schedule.kind == "drift":
        if schedule.strategy is None:
            raise ValueError(f"schedules.{schedule.name}.strategy: a drift schedule needs one")
        argv.append(schedule.strategy)
    argv += ["--run-id", job_id, "--output", str(output)]
    if schedule.kind in PROPOSING and schedule.strategy is not None:
        argv += ["--propose-for", schedule.strategy]
    argv += list(schedule.args)
    if config is not None:
        argv += ["--config", str(config)]
    return argv


def job_argv(schedule: ScheduleSettings, job_id: str, output: Path,
             config: Path | None) -> list[str]:  # fmt: skip
    """The whole argv of the job's process."""
    return [sys.executable, "-m", "tradd", schedule.kind,
            *command_args(schedule, job_id, output, config)]  # fmt: skip
