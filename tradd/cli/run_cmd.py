"""`tradd run`: the supervisor daemon (thin: parse, load, set up logging, hand over).

tradd run --config etc/tradd.toml                 foreground (systemd: Type=notify)
tradd run --daemon --pidfile state/tradd.pid      detach; refuses while the PID file
                                                  is locked by a running instance
tradd run --simulate --speed 60                   with the embedded IB simulator on
                                                  broker.port (rehearsals, `make run`)
tradd run --simulate --web                        and the web console beside it, a child
                                                  process stopped with it (`make run`)
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated

import structlog
import typer

from tradd.config.loader import load_settings, resolve_config_path
from tradd.config.settings import Settings
from tradd.errors import TraddError, UsageError
from tradd.logs import configure_logging

SIM_ENV = {"TRADD_BROKER__MARKET_CLOCK": "gateway"}
"""With the simulator, market time is the simulator's (it runs faster than the wall)."""


def register(app: typer.Typer) -> None:
    app.command("run")(run)


def run(
    config: Annotated[Path | None, typer.Option("--config", help="tradd.toml to run.")] = None,
    daemon: Annotated[bool, typer.Option("--daemon", help="Detach and write a PID file.")] = False,
    pidfile: Annotated[
        Path | None, typer.Option("--pidfile", help="PID file (default supervisor.pidfile).")
    ] = None,
    simulate: Annotated[
        bool, typer.Option("--simulate", help="Start the IB simulator (tradd simgw) too.")
    ] = False,
    speed: Annotated[
        float, typer.Option(help="With --simulate: simulated seconds per real second.")
    ] = 60.0,
    web: Annotated[
        bool, typer.Option("--web", help="Start the web console (tradd web) beside it, "
                           "stopped with it. Foreground only: under systemd use "
                           "tradd-web.service."),
    ] = False,
) -> None:  # fmt: skip
    """Run every configured strategy in its own worker process until SIGTERM/Ctrl-C."""
    if web and daemon:
        raise UsageError("--web: only in the foreground; a detached daemon's console is "
                         "`tradd web` on its own (or tradd-web.service)")  # fmt: skip
    environ = dict(os.environ)
    if simulate:
        environ.update(SIM_ENV)
    path = resolve_config_path(config, environ)
    if path is None or not path.is_file():
        raise UsageError(f"--config {path or '(none found)'}: tradd run needs a config file")
    settings = load_settings(path, environ=environ)
    from tradd.supervisor.preflight import check_startup

    def preflight() -> None:  # holding the PID file lock; before detaching, on the terminal
        check_startup(settings, environ, simulate=simulate)
        check_strategies_as_workers_will(path, environ)

    if daemon:
        _detached(settings, path, environ, simulate, speed, pidfile, preflight)
        return
    with _locked(pidfile):
        preflight()
        _serve(settings, path, environ, simulate, speed, console=None, web=web)


def check_strategies_as_workers_will(path: Path, environ: dict[str, str]) -> None:
    """Refuse (78) what `tradd config check` and a reload refuse: a strategy class that does
    not import or a parameter it does not take. Checked in a child process, as a reload
    checks, so the supervisor never imports strategy code; otherwise each such worker would
    exit 78 after the daemon had started, with its strategy silently not running."""
    import asyncio

    from tradd.supervisor.configcheck import check_in_child

    asyncio.run(check_in_child(path, Path.cwd(), environ)).raise_if_invalid()


def _detached(
    settings: Settings,
    path: Path,
    environ: dict[str, str],
    simulate: bool,
    speed: float,
    pidfile: Path | None,
    preflight: Callable[[], None],
) -> None:
    from tradd.supervisor.daemonize import daemonize

    lock = pidfile or _default_pidfile(settings)
    with daemonize(lock, Path.cwd(), before_detach=preflight):
        try:
            _serve(settings, path, environ, simulate, speed, console=False)
        except TraddError as exc:  # stderr is /dev/null now: say it in the log
            log = structlog.get_logger("tradd.run")
            log.error("tradd run failed", error=str(exc), exit_code=exc.exit_code)
            raise


@contextlib.contextmanager
def _locked(pidfile: Path | None) -> Iterator[None]:
    if pidfile is None:
        yield
        return
    from tradd.supervisor.daemonize import PidFile

    with PidFile(pidfile):
        yield


def _serve(
    settings: Settings,
    path: Path,
    environ: dict[str, str],
    simulate: bool,
    speed: float,
    console: bool | None,
    web: bool = False,
) -> None:
    from tradd.cli.web_child import console_beside
    from tradd.daemon.main import run_daemon
    from tradd.supervisor.daemon import SupervisorOptions

    configure_logging(settings.log, "supervisor", console=console)
    # twilio logs every request's URL and headers at INFO; tradd logs each alert itself
    logging.getLogger("twilio").setLevel(logging.WARNING)
    options = SupervisorOptions(environ=environ)
    with _simulator(settings, simulate, speed), console_beside(settings, path, environ, web):
        code = run_daemon(settings, path, options)
    if code:
        raise typer.Exit(code)


@contextlib.contextmanager
def _simulator(settings: Settings, simulate: bool, speed: float) -> Iterator[None]:
    if not simulate:
        yield
        return
    from tradd.simgw.background import BackgroundGateway
    from tradd.simgw.config import SimConfig

    symbols = tuple(sorted({s for st in settings.strategies for s in st.symbols}))
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    config = SimConfig(
        data_dir=settings.data.dir,
        host=settings.broker.host,
        port=settings.broker.port,
        symbols=symbols,
        speed=speed,
        state_file=settings.state_dir / "simgw.json",  # the account lives on, as the ledger does
    )
    with BackgroundGateway(config, admin=True) as sim:  # `tradd simgw status --port N` works
        typer.echo(f"IB simulator on {settings.broker.host}:{sim.port} at {speed:g}x", err=True)
        typer.echo(f"  inspect or fault it: tradd simgw status --port {sim.port}", err=True)
        typer.echo(_watch_hint(settings), err=True)
        yield


def _default_pidfile(settings: Settings) -> Path:
    return settings.supervisor.pidfile or settings.state_dir / "tradd.pid"


def _watch_hint(settings: Settings) -> str:
    metrics = settings.metrics
    url = f"http://{metrics.host}:{metrics.port}/metrics" if metrics.enabled else "(off)"
    return (
        f"tradd running {len(settings.strategies)} strategies. Watch it:\n"
        f"  .venv/bin/tradctl status        (add --json for scripts)\n"
        f"  metrics: {url}\n"
        f"  logs:    {settings.log.dir}/supervisor.log, {settings.log.dir}/worker-<name>.log\n"
        f"Ctrl-C stops everything cleanly."
    )
