"""`tradd`: entry point. Turns errors into one-line messages and documented exit codes.

Exit codes: 0 ok, 1 failure, 2 usage (bad arguments), 65 data, 78 configuration,
130 interrupted (Ctrl-C; finished work is kept).
"""

from __future__ import annotations

import sys

import typer

from tradd.cli import run_cmd
from tradd.cli.common import join_list_arguments
from tradd.errors import EXIT_INTERRUPTED, ConfigError, TraddError

HELP = "Trading daemon for Backtrader strategies on Interactive Brokers, and research tools."


def build_app(daemon_only: bool = False, web_only: bool = False) -> typer.Typer:
    """The command tree. `tradd run` gets only itself: the supervisor then never imports
    the research stack (Backtrader, pandas, matplotlib), which keeps it small. So does
    `tradd web`: the console stays within its memory budget (docs/web.md), and its
    jobs, which need that stack, are processes of their own."""
    app = typer.Typer(
        name="tradd",
        help=HELP,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    if web_only:
        from tradd.cli import web_cmd

        web_cmd.register(app)
        app.callback()(lambda: None)  # a group, so `web` stays a subcommand
        return app
    run_cmd.register(app)
    if daemon_only:
        app.callback()(lambda: None)  # a group, so `run` stays a subcommand
        return app
    from tradd.cli import (
        compare_cmd,
        config_cmd,
        data_cmd,
        drift_cmd,
        emergency_cmd,
        research_cmd,
        scan_cmd,
        simgw_cmd,
        users_cmd,
        walkforward_cmd,
        web_cmd,
    )

    app.add_typer(config_cmd.app, name="config")
    app.add_typer(data_cmd.app, name="data")
    app.add_typer(simgw_cmd.app, name="simgw")
    app.add_typer(users_cmd.app, name="users")
    research_cmd.register(app)
    walkforward_cmd.register(app)
    compare_cmd.register(app)
    drift_cmd.register(app)
    scan_cmd.register(app)
    emergency_cmd.register(app)
    web_cmd.register(app)
    return app


def main(argv: list[str] | None = None) -> None:
    args = join_list_arguments(list(sys.argv[1:] if argv is None else argv))
    try:
        # Standalone: typer reports usage errors itself (exit 2) and honours typer.Exit.
        build_app(daemon_only=args[:1] == ["run"], web_only=args[:1] == ["web"])(
            args=args, prog_name="tradd"
        )
    except ConfigError as exc:
        print(f"tradd: {exc}", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except TraddError as exc:
        print(f"tradd: error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        print("tradd: interrupted", file=sys.stderr)
        sys.exit(EXIT_INTERRUPTED)
