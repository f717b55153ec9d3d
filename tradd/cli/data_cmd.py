"""`tradd data import|validate|download`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tradd.cli.common import data_store, log, parse_date, report_console, settings_for, split_list
from tradd.cli.config_cmd import ConfigOption
from tradd.errors import DataError, UsageError

if TYPE_CHECKING:
    from tradd.marketdata.validate import QualityReport

app = typer.Typer(
    help="Market data: import files, download from IB, check quality.", no_args_is_help=True
)

DataDirOption = Annotated[
    Path | None, typer.Option("--data-dir", help="Data directory (default: data.dir in config).")
]
BarOption = Annotated[
    str | None, typer.Option("--bar", help="Bar size: 1mo, 1w, 1d, 1h, 30m, 15m, 5m, 1m.")
]


@app.command("import")
def import_(
    file: Annotated[
        Path, typer.Argument(help="CSV file: Yahoo, Backtrader generic or tradd layout.")
    ],
    symbol: Annotated[str, typer.Option("--symbol", help="Symbol the file holds.")],
    bar: BarOption = None,
    adjust: Annotated[
        bool, typer.Option("--adjust", help="Scale OHLC by Adj Close / Close (Yahoo files).")
    ] = False,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Add a file's bars to the data directory (rows already there are replaced)."""
    settings = settings_for(config)
    result = data_store(settings, data_dir).import_file(file, symbol, bar=bar, adjust=adjust)
    log().info(
        "data imported",
        source=str(file),
        symbol=result.symbol,
        bar=result.bar,
        added=result.rows_added,
        replaced=result.rows_replaced,
        total=result.total,
    )
    typer.echo(
        f"{result.symbol} {result.bar}: read {result.rows_read} rows ({result.layout} layout), "
        f"added {result.rows_added}, replaced {result.rows_replaced}; "
        f"{result.total} bars in {result.path}"
    )


@app.command("validate")
def validate(
    symbols: Annotated[list[str], typer.Option("--symbols", help="Symbols (A,B or A B).")],
    bar: BarOption = None,
    strict: Annotated[bool, typer.Option("--strict", help="Fail on warnings too.")] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the reports as JSON, with every date.")
    ] = False,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Check gaps against the exchange calendar (missing sessions, missing intraday bars),
    duplicates, bad prices, OHLC consistency and outlier returns (exit 65)."""
    import json

    from tradd.marketdata.calendars import calendar_for
    from tradd.marketdata.contracts import load_definitions
    from tradd.marketdata.validate import QualityRules, validate_file

    settings = settings_for(config)
    store = data_store(settings, data_dir)
    size = bar or settings.data.default_bar
    rules = QualityRules(
        settings.data.outlier_sigma,
        settings.data.max_gap_bars,
        settings.data.missing_sessions_warn,
        settings.data.missing_sessions_error_pct,
    )
    names = split_list("--symbols", symbols)
    if not names:
        raise UsageError("--symbols: give at least one symbol")
    definitions = load_definitions(store.directory)  # a bad file: ConfigError, exit 78
    reports: list[QualityReport] = []
    for name in names:
        path = store.path_for(name, size)
        if not path.is_file():
            raise DataError(f"no {size} data for {name.upper()} in {store.directory} ({path.name})")
        calendar = calendar_for(definitions.spec(name.upper()))
        reports.append(validate_file(path, name.upper(), size, rules, calendar))
    if as_json:
        typer.echo(json.dumps([r.as_dict() for r in reports], indent=2))
    else:
        _print_reports(reports, size, strict)
    failed = [r.symbol for r in reports if r.errors or (strict and r.warnings)]
    for r in reports:
        log().info(
            "data validated",
            symbol=r.symbol,
            bar=size,
            errors=len(r.errors),
            warnings=len(r.warnings),
            missing_sessions=0 if r.sessions is None else len(r.sessions.missing),
        )
    if failed:
        raise DataError(f"data problems in {', '.join(failed)}")


def _print_reports(reports: list[QualityReport], size: str, strict: bool) -> None:
    from rich.table import Table

    console = report_console()
    table = Table(title=f"data quality ({size})")
    for column in ("symbol", "bars", "first", "last", "missing sessions", "errors", "warnings",
                   "verdict"):  # fmt: skip
        table.add_column(column)
    for r in reports:
        verdict = "FAIL" if r.errors or (strict and r.warnings) else "ok"
        missing = (
            "-" if r.sessions is None else f"{len(r.sessions.missing)} of {r.sessions.expected}"
        )
        table.add_row(r.symbol, str(r.bars), r.first, r.last, missing, str(len(r.errors)),
                      str(len(r.warnings)), verdict)  # fmt: skip
    console.print(table)
    for r in reports:
        for line in r.errors:
            console.print(f"[red]error[/red]   {r.symbol}: {line}", highlight=False, soft_wrap=True)
        for line in r.warnings:
            console.print(
                f"[yellow]warning[/yellow] {r.symbol}: {line}", highlight=False, soft_wrap=True
            )
        for line in r.notes:
            console.print(f"note    {r.symbol}: {line}", highlight=False, soft_wrap=True)


@app.command("download")
def download(
    symbols: Annotated[list[str], typer.Option("--symbols", help="Symbols (A,B or A B).")],
    start: Annotated[str, typer.Option("--start", help="First day, YYYY-MM-DD.")],
    end: Annotated[
        str | None, typer.Option("--end", help="Last day, YYYY-MM-DD (default: today).")
    ] = None,
    bar: Annotated[
        str | None,
        typer.Option("--bar", help="Bar size: 1d, 1h or 1m (default: data.default_bar)."),
    ] = None,
    what: Annotated[
        str, typer.Option("--what", help="TRADES, MIDPOINT or ADJUSTED_LAST (1d only).")
    ] = "TRADES",
    rth: Annotated[
        bool, typer.Option("--rth/--all-hours", help="Regular trading hours only, or all.")
    ] = True,
    host: Annotated[str | None, typer.Option("--host", help="Gateway (default: broker.host).")] = (
        None
    ),
    port: Annotated[int | None, typer.Option("--port", help="Default: broker.port.")] = None,
    client_id: Annotated[
        int | None, typer.Option("--client-id", help="Default: broker.download_client_id.")
    ] = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
) -> None:
    """Fetch IB history into the data directory: only what the files lack, paced for IB."""
    import time
    from datetime import date

    from tradd.ib.download import download as run_download
    from tradd.ib.download_plan import DownloadSpec, Gateway
    from tradd.ib.pacing import HistoryPacer
    from tradd.marketdata.contracts import load_definitions

    settings = settings_for(config)
    today = date.today()
    first = parse_date("--start", start)
    assert first is not None
    spec = DownloadSpec(
        split_list("--symbols", symbols),
        first,
        parse_date("--end", end) or today,
        bar or settings.data.default_bar,
        what,
        rth,
    )
    broker = settings.broker
    gateway = Gateway(
        host or broker.host,
        broker.port if port is None else port,
        broker.download_client_id if client_id is None else client_id,
        broker.connect_timeout,
        broker.request_timeout,
        getattr(broker, "library", "auto"),
    )
    log().info("data download", symbols=list(spec.symbols), bar=spec.bar, gateway=str(gateway))
    pacer = HistoryPacer(clock=time.monotonic, sleep=time.sleep)
    store = data_store(settings, data_dir)
    definitions = load_definitions(store.directory)  # a bad file: ConfigError, exit 78
    report = run_download(spec, store, gateway, pacer, echo=typer.echo, today=today,
                          definitions=definitions)  # fmt: skip
    typer.echo(f"{len(report.symbols) - len(report.failures)} of {len(report.symbols)} "
               f"symbol(s) done, {report.requests} request(s) to IB at {gateway}")  # fmt: skip
    report.raise_for_failures()
