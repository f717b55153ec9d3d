"""`python -m tradd.cli.config_child FILE`: the configuration check a reload (and `tradd
run`'s start) runs in a child process, with the schedules' `args` parsed by the commands'
own parsers, which live in `tradd.cli` above the supervisor (`tradd.supervisor.configcheck`
runs this module by name, as a process, and imports nothing of it)."""

from __future__ import annotations

import sys

import typer

from tradd.cli.app import build_app
from tradd.cli.schedule_args import schedule_arg_problems
from tradd.config.settings import Settings
from tradd.supervisor.configcheck import main as check_main


def _args_problems(settings: Settings) -> list[str]:
    return schedule_arg_problems(settings, typer.main.get_command(build_app()))


if __name__ == "__main__":
    sys.exit(check_main(extra=_args_problems))
