"""`tradd flatten-account`: the kill switch that needs no daemon.

What `scripts/emergency_stop.sh` falls back to when the daemon's control socket does not
answer: mark every configured strategy HALTED in the database (reason "flattened by
flatten-account"), then sweep the account on `supervisor.emergency_client_id`
(reqGlobalCancel, close every position, confirm flat; see
`tradd.supervisor.emergency_sweep`). The database step failing does not stop the sweep.

Exit codes: 0 the account is confirmed flat and every strategy was marked HALTED;
1 anything else (IB unreachable, positions not confirmed flat within the timeout, orders
still open, the database unreachable); 2 bad arguments; 78 configuration error.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from tradd.cli.common import report_console, settings_for
from tradd.cli.config_cmd import ConfigOption
from tradd.config.settings import Settings
from tradd.errors import EXIT_FAILURE, EXIT_OK, TemporaryError, UsageError

REQUESTED_BY = "flatten-account"


def register(app: typer.Typer) -> None:
    """Add the command to `app`."""
    app.command("flatten-account")(flatten_account)


def flatten_account(
    config: ConfigOption = None,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout", help="Seconds to confirm flat (default supervisor.flatten_timeout)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """HALT every strategy, cancel every order and close every position of the account."""
    if timeout is not None and not timeout > 0:
        raise UsageError(f"--timeout {timeout:g}: must be a positive number of seconds")
    settings = settings_for(config)
    from tradd.supervisor.emergency import sweep_account
    from tradd.worker.__main__ import quiet_client_library

    quiet_client_library()
    halted, halt_error = halt_strategies(settings)
    result = sweep_account(
        settings,
        client_id=settings.supervisor.emergency_client_id,
        requested_by=REQUESTED_BY,
        timeout=timeout or settings.supervisor.flatten_timeout,
    )
    result["halted"] = halted
    if halt_error:
        result["ok"] = False
        result["message"] = f"{result['message']}; {halt_error}"
    if as_json:
        typer.echo(json.dumps(result, indent=2))
    else:
        _print_table(result)
    if not result["ok"]:
        typer.echo(f"tradd: flatten-account: NOT confirmed flat: {result['message']}", err=True)
    raise typer.Exit(EXIT_OK if result["ok"] else EXIT_FAILURE)


def halt_strategies(settings: Settings) -> tuple[list[str], str]:
    """Mark every configured strategy HALTED; (names marked, what went wrong or "")."""
    from sqlalchemy.exc import SQLAlchemyError

    from tradd.persistence.db import open_database
    from tradd.persistence.ledger import Ledger
    from tradd.supervisor.emergency import mark_halted

    halted: list[str] = []
    try:
        engine, sessions = open_database(settings.database_url(), echo=settings.database.echo)
    except TemporaryError as exc:
        return halted, f"strategies NOT marked HALTED: {exc}"
    try:
        for strategy in settings.strategies:
            mark_halted(Ledger(sessions, strategy.name), f"flattened by {REQUESTED_BY}")
            halted.append(strategy.name)
    except SQLAlchemyError as exc:
        missing = [s.name for s in settings.strategies if s.name not in halted]
        return halted, f"strategies NOT marked HALTED ({', '.join(missing)}): {exc}"
    finally:
        engine.dispose()
    return halted, ""


def _print_table(result: dict[str, Any]) -> None:
    from rich.table import Table

    console = report_console()
    title = f"flatten-account: {'FLAT' if result['ok'] else 'NOT FLAT'}"
    if result["symbols"]:
        table = Table(title=title)
        for column in ("Contract", "Before", "After", "Result"):
            table.add_column(column, justify="right" if column in ("Before", "After") else "left")
        for symbol, line in sorted(result["symbols"].items()):
            table.add_row(symbol, f"{line['before']:g}", f"{line['after']:g}", line["result"])
        console.print(table)
    else:
        console.print(f"{title} (no positions seen)")
    console.print(f"cancelled: {', '.join(result['cancelled']) or 'none'}")
    console.print(f"closing orders: {', '.join(result['orders']) or 'none'}")
    console.print(f"halted: {', '.join(result['halted']) or 'none'}")
    console.print(f"result: {result['message']}", markup=False)
