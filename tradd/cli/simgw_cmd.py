"""`tradd simgw`: run the IB Gateway simulator, or poke a running one (fault, status, advance)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from pathlib import Path
from typing import Annotated, Any

import typer

from tradd.cli.common import parse_date, settings_for, split_list
from tradd.cli.config_cmd import ConfigOption
from tradd.errors import UsageError
from tradd.simgw.admin import AdminServer, admin_request, default_admin_socket
from tradd.simgw.config import LOOPBACK, SimConfig
from tradd.simgw.faults import CATALOGUE

app = typer.Typer(
    help="IB Gateway simulator: the TWS API on loopback, replaying market data.",
    invoke_without_command=True,
)
PortOption = Annotated[int, typer.Option("--port", help="Port of the simulator to talk to.")]
AdminOption = Annotated[
    Path | None, typer.Option("--admin-socket", help="Admin socket (default: derived from port).")
]


@app.callback()
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to bind (loopback unless --allow-remote).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="TWS API port (IB Gateway paper: 4002).")] = 4002,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Bars to replay (default: data.dir).")
    ] = None,
    symbols: Annotated[
        list[str] | None, typer.Option("--symbols", help="Symbols to offer (default: all).")
    ] = None,
    speed: Annotated[
        float, typer.Option(help="Simulated seconds per real second; 0 pauses the clock.")
    ] = 60.0,
    start: Annotated[str | None, typer.Option(help="Simulated start date YYYY-MM-DD.")] = None,
    account: Annotated[str, typer.Option(help="Account code to report.")] = "DU0000001",
    cash: Annotated[float, typer.Option(help="Starting cash (USD).")] = 1_000_000.0,
    state: Annotated[
        Path | None, typer.Option("--state", help="Keep state in FILE across process restarts.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic intraday paths.")] = 0,
    pacing: Annotated[bool, typer.Option(help="Enforce IB's historical-data pacing rules.")] = True,
    skip_closed: Annotated[
        bool, typer.Option(help="Jump over nights and weekends when every market is closed.")
    ] = True,
    partial_fills: Annotated[
        int, typer.Option("--partial-fills", help="Fill every order in N parts.")
    ] = 1,
    allow_remote: Annotated[
        bool, typer.Option("--allow-remote", help="Permit binding a non-loopback address.")
    ] = False,
    admin_socket: AdminOption = None,
    config: ConfigOption = None,
) -> None:
    """Run the simulator until Ctrl-C or SIGTERM (use a subcommand to control a running one)."""
    if ctx.invoked_subcommand is not None:
        return
    settings = settings_for(config, "simgw")
    sim = SimConfig(
        data_dir=data_dir or settings.data.dir, host=host, port=port,
        symbols=split_list("--symbols", symbols), speed=speed,
        start=parse_date("--start", start), account=account, cash=cash, state_file=state,
        seed=seed, pacing=pacing, skip_closed=skip_closed, allow_remote=allow_remote,
        partial_fills=partial_fills, admin_socket=admin_socket,
    )  # fmt: skip
    if host not in LOOPBACK and allow_remote:
        typer.echo(f"warning: simulator reachable from the network on {host}:{port}", err=True)
    asyncio.run(_serve(sim))


async def _serve(config: SimConfig) -> None:
    # Here, not at the top: the gateway pulls in pandas and the replay machinery, which
    # every other `tradd` command (they all build this command tree) would pay for.
    from tradd.simgw.gateway import SimGateway

    gateway = SimGateway(config)
    await gateway.start()
    admin = AdminServer(gateway, config.admin_socket or default_admin_socket(gateway.port))
    await admin.start()
    typer.echo(
        f"simgw listening on {config.host}:{gateway.port} (account {config.account}, "
        f"{len(gateway.tapes)} symbols, simulated {gateway.sim_datetime:%Y-%m-%d %H:%M} UTC, "
        f"speed {config.speed:g}); admin socket {admin.path}",
        err=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await admin.stop()
        await gateway.stop()


def _admin_path(port: int, admin_socket: Path | None) -> Path:
    return admin_socket or default_admin_socket(port)


def _print(result: Any) -> None:
    typer.echo(json.dumps(result, indent=2, default=str))


@app.command("fault")
def fault(
    name: Annotated[str, typer.Argument(help="Fault to inject: " + ", ".join(CATALOGUE))],
    value: Annotated[
        str | None, typer.Argument(help="Number for farm/reject/pacing/partial/...")
    ] = None,
    seconds: Annotated[
        float | None, typer.Option(help="refuse: seconds before accepting again.")
    ] = None,
    reset: Annotated[bool, typer.Option(help="drop: RST instead of FIN.")] = False,
    data_lost: Annotated[bool, typer.Option("--data-lost", help="restored: send 1101.")] = False,
    port: PortOption = 4002,
    admin_socket: AdminOption = None,
) -> None:
    """Inject a fault into a running simulator."""
    if name not in CATALOGUE:
        raise UsageError(f"unknown fault {name!r}; choose from: {', '.join(CATALOGUE)}")
    args: dict[str, Any] = {"reset": reset, "data_lost": data_lost}
    if seconds is not None:
        args["seconds"] = seconds
    if value is not None:
        with contextlib.suppress(ValueError):
            args["value"] = int(value)
        if "value" not in args:
            raise UsageError(f"fault {name}: {value!r} is not a whole number")
    request = {"op": "fault", "name": name, "args": args}
    _print(admin_request(_admin_path(port, admin_socket), request))


@app.command("status")
def status(port: PortOption = 4002, admin_socket: AdminOption = None) -> None:
    """Show a running simulator's clock, clients and orders."""
    _print(admin_request(_admin_path(port, admin_socket), {"op": "status"}))


@app.command("advance")
def advance(
    seconds: Annotated[float, typer.Argument(help="Simulated seconds to move forward.")],
    port: PortOption = 4002,
    admin_socket: AdminOption = None,
) -> None:
    """Move a paused (--speed 0) simulator's clock forward."""
    _print(admin_request(_admin_path(port, admin_socket), {"op": "advance", "seconds": seconds}))
