"""`tradd config check`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tradd.config.loader import redact_url, resolve_config_path
from tradd.config.settings import Settings

app = typer.Typer(help="Validate configuration.", no_args_is_help=True)

ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="Config file (default: etc/tradd.toml).")
]


@app.command("check")
def check(ctx: typer.Context, config: ConfigOption = None) -> None:
    """Validate the config file, environment and .env, and that the state and log
    directories are writable; list every problem (exit 78)."""
    import os

    from tradd.cli.schedule_args import schedule_arg_problems
    from tradd.marketdata.contracts import load_definitions
    from tradd.supervisor.configcheck import check_config

    root = ctx.find_root().command

    def args_problems(loaded: Settings) -> list[str]:
        return schedule_arg_problems(loaded, root)

    settings = check_config(config, extra=args_problems)  # what a reload checks too
    where = resolve_config_path(config, os.environ) or "built-in defaults"
    typer.echo(f"config OK: {where}")
    typer.echo(f"  data dir:  {settings.data.dir}")
    definitions = load_definitions(settings.data.dir)  # valid: check_config read them
    if definitions.source is not None:
        typer.echo(f"  contracts: {', '.join(definitions.symbols()) or 'none'} "
                   f"defined in {definitions.source}")  # fmt: skip
    typer.echo(f"  state dir: {settings.state_dir}")
    typer.echo(f"  log dir:   {settings.log.dir}")
    storage = "set (hidden)" if settings.optimize.storage else "a journal file per run"
    typer.echo(f"  optimize storage: {storage}")
    typer.echo(f"  database:  {redact_url(settings.database_url())}")
    typer.echo(f"  IB gateway: {settings.broker.host}:{settings.broker.port}")
    for sch in settings.schedules:
        typer.echo(f"  schedule {sch.name}: {sch.kind} {' '.join(sch.args)}".rstrip())
    for s in settings.strategies:
        state = "" if s.enabled else " (disabled)"
        typer.echo(
            f"  strategy {s.name}: {s.strategy} on {', '.join(s.symbols)}, "
            f"{s.bar} bars, clientId {s.client_id}{state}"
        )
