"""`tradd config check`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tradd.config.loader import load_settings, redact_url, resolve_config_path
from tradd.config.settings import Settings
from tradd.errors import ConfigError

app = typer.Typer(help="Validate configuration.", no_args_is_help=True)

ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="Config file (default: etc/tradd.toml).")
]


@app.command("check")
def check(config: ConfigOption = None) -> None:
    """Validate the config file, environment and .env; list every problem (exit 78)."""
    import os

    settings = load_settings(config)
    _check_strategies(settings)
    where = resolve_config_path(config, os.environ) or "built-in defaults"
    typer.echo(f"config OK: {where}")
    typer.echo(f"  data dir:  {settings.data.dir}")
    typer.echo(f"  state dir: {settings.state_dir}")
    typer.echo(f"  log dir:   {settings.log.dir}")
    storage = "set (hidden)" if settings.optimize.storage else "a journal file per run"
    typer.echo(f"  optimize storage: {storage}")
    typer.echo(f"  database:  {redact_url(settings.database_url())}")
    typer.echo(f"  IB gateway: {settings.broker.host}:{settings.broker.port}")
    for s in settings.strategies:
        state = "" if s.enabled else " (disabled)"
        typer.echo(
            f"  strategy {s.name}: {s.strategy} on {', '.join(s.symbols)}, "
            f"{s.bar} bars, clientId {s.client_id}{state}"
        )


def _check_strategies(settings: Settings) -> None:
    """Every live strategy's class must import and accept its parameters."""
    from tradd.worker.strategy import resolve_strategy

    problems = []
    for strategy in settings.strategies:
        try:
            resolve_strategy(strategy)
        except ConfigError as exc:
            problems.append(str(exc))
    if problems:
        raise ConfigError(f"invalid strategies: {len(problems)} problem(s)", problems)
