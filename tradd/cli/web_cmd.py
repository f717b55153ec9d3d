"""`tradd web`: the web console, a process of its own beside the daemon (docs/web.md).

Exit codes: 0 stopped cleanly (SIGINT/SIGTERM), 1 the port in use, 2 usage (a bad
--port, a non-loopback host without --allow-remote), 78 configuration (a bad [web] value,
remote without TLS, a missing certificate file, a host that does not resolve).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tradd.cli.common import settings_for
from tradd.cli.config_cmd import ConfigOption


def register(app: typer.Typer) -> None:
    app.command("web")(web)


def web(
    config: ConfigOption = None,
    port: Annotated[int | None, typer.Option(
        "--port", help="Port (default: [web] port, 8080).",
    )] = None,
    allow_remote: Annotated[bool, typer.Option(
        "--allow-remote", help="Listen on [web] host even if it is not loopback; needs TLS "
        "([web] tls_cert and tls_key, or tls_proxy = true).",
    )] = False,
) -> None:  # fmt: skip
    """Serve the web console: research jobs from the browser and a live view of the daemon.

    On a database without users it creates `admin` and prints its password once."""
    settings = settings_for(config, "web")
    from tradd.web.server import listen_rule, serve

    listen = listen_rule(settings, port, allow_remote)
    serve(settings, _absolute(config), listen, lambda line: typer.echo(line, err=True))


def _absolute(config: Path | None) -> Path | None:
    return config.resolve() if config is not None else None
