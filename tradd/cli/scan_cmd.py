"""`tradd scan`: every strategy on every symbol, the best one per symbol, optionally put to
work through the daemon. Registers `tradd runs` too (tradd.cli.runs_cmd): every scan is a run.
Backtests whose inputs are unchanged come from the backtest cache (`--no-cache`: none do;
see tradd.research.scan.cached).

Exit codes of `tradd scan`: 0 every backtest ran (and, with --execute, nothing failed);
1 some backtests failed (recorded as failed rows; the rest is reported), some entries
failed, or the daemon stopped answering after the scan ran (the scan is recorded, nothing
was sent); 2 usage, and a scan too old to --execute (nothing run or sent); 3 --execute and
the daemon is not reachable before anything runs, or with --from-run (nothing run or sent);
65 no data at all; 130 interrupted. A blocked or skipped entry is an outcome, not a failure.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tradd.cli.common import (
    data_store,
    date_checked,
    log,
    parse_date,
    settings_for,
    split_list,
)
from tradd.cli.config_cmd import ConfigOption
from tradd.cli.data_cmd import BarOption, DataDirOption
from tradd.cli.research_cmd import WorkersOption
from tradd.cli.run_id import RunIdOption, checked_run_id
from tradd.cli.runs_cmd import runs_app
from tradd.cli.shared_study import SharedStorageOption, SharedStudyOption, shared_storage
from tradd.config.settings import Settings
from tradd.errors import EXIT_FAILURE, UsageError

if TYPE_CHECKING:
    from tradd.research.scan.candidates import Candidate
    from tradd.research.scan.execute import DaemonCall, Policy
    from tradd.research.scan.gate import Gate
    from tradd.research.scan.plan import ScanPlan, ScanRequest
    from tradd.research.scan.runner import ScanResult

EXIT_UNREACHABLE = 3
DEFAULT_POSITION_PCT = 10.0
DEFAULT_MAX_AGE_DAYS = 7  # as tradd.research.scan.gate (not imported here: it is not light)

MinScoreOption = Annotated[float | None, typer.Option(
    "--min-score", help="--execute: enter a symbol only if its best score is at least this "
    "(0-100, default 0); it also needs a positive return and Sharpe and at least one trade.",
)]  # fmt: skip
MaxTotalOption = Annotated[float | None, typer.Option(
    "--max-total-pct", help="--execute: this execution's entries together at most this % "
    "of the account equity (default 100); best scores are entered first.",
)]  # fmt: skip
MaxAgeOption = Annotated[int | None, typer.Option(
    "--max-age-days", help="--execute: refuse a scan whose period ended more than this many "
    f"days before today (default {DEFAULT_MAX_AGE_DAYS}).",
)]  # fmt: skip
AllowStaleOption = Annotated[bool, typer.Option(
    "--allow-stale", help="--execute: execute an older scan anyway. For rehearsals on the "
    "simulator with old sample data; not for real money.",
)]  # fmt: skip
AnySetupOption = Annotated[bool, typer.Option(
    "--any-setup", help="--execute: also enter through a daemon strategy running other "
    "params or another bar size than the scan tested (the row notes the difference).",
)]  # fmt: skip


def register(app: typer.Typer) -> None:
    """Add `scan` and the `runs` sub-app to the tree."""
    app.command("scan")(scan)
    app.add_typer(runs_app, name="runs")


def scan(
    symbols: Annotated[
        list[str] | None, typer.Option("--symbols", help="Symbols (A,B or A B).")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", help="Directory for scan.json, scan.csv, execution.json."),
    ] = None,
    strategies: Annotated[
        list[str] | None,
        typer.Option(
            "--strategies", help="Dotted paths, or all (default): the strategies package."
        ),
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(
            "--start",
            help="First day (default: 365 days before --end).",
            callback=date_checked("--start"),
        ),
    ] = None,
    end: Annotated[
        str | None,
        typer.Option(
            "--end",
            help="Last day (default: the last bar all the symbols have).",
            callback=date_checked("--end"),
        ),
    ] = None,
    cash: Annotated[float | None, typer.Option("--cash", help="Starting cash.")] = None,
    max_position_pct: Annotated[
        float | None,
        typer.Option(
            "--max-position-pct",
            help="Backtests: % of the portfolio per entry (default 10); --execute's default.",
        ),
    ] = None,
    workers: WorkersOption = None,
    execute: Annotated[
        bool,
        typer.Option("--execute", help="Enter the best strategy of each symbol via the daemon."),
    ] = False,
    from_run: Annotated[
        str | None,
        typer.Option("--from-run", help="With --execute: use this stored scan, do not re-run."),
    ] = None,
    position_pct: Annotated[
        float | None,
        typer.Option(
            "--position-pct",
            help="--execute: % of the daemon strategy's equity per entry (default: "
            "--max-position-pct; with --from-run, what that scan used).",
        ),
    ] = None,
    socket: Annotated[
        Path | None, typer.Option("--socket", help="Control socket (default: from the config).")
    ] = None,
    min_score: MinScoreOption = None,
    max_total_pct: MaxTotalOption = None,
    max_age_days: MaxAgeOption = None,
    allow_stale: AllowStaleOption = False,
    any_setup: AnySetupOption = False,
    no_cache: Annotated[
        bool,
        typer.Option(
            "--no-cache",
            help="Backtest everything again, even what the backtest cache holds (the "
            "results are still stored for later scans).",
        ),
    ] = False,
    bar: BarOption = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    run_id: RunIdOption = None,
    storage: SharedStorageOption = None,
    study: SharedStudyOption = None,
) -> None:
    """Backtest every strategy on every symbol, rank them by composite score per symbol;
    with --execute, enter the best one of each symbol through the running daemon.

    Exit 1 when a backtest or an entry failed (the rest is still reported), 2 when the
    scan is too old to --execute, 3 when --execute finds no daemon (nothing is run or sent).
    """
    settings = settings_for(config)
    max_pct = _percent("--max-position-pct", max_position_pct)
    entry_pct = _percent("--position-pct", position_pct)
    symbol_list = split_list("--symbols", symbols)
    if not execute:
        _only_with_execute(
            position_pct=position_pct, socket=socket, min_score=min_score,
            max_total_pct=max_total_pct, max_age_days=max_age_days,
            allow_stale=allow_stale or None, any_setup=any_setup or None,
        )  # fmt: skip
    from tradd.research.scan.gate import Gate

    gate = Gate.from_options(min_score, max_total_pct, max_age_days, allow_stale, any_setup,
                             date.today)  # fmt: skip
    if from_run is not None:
        if not execute:
            raise UsageError("--from-run: only with --execute (it sends a stored scan's picks)")
        _refuse_scan_options(strategies=strategies, start=start, end=end, cash=cash,
                             workers=workers, bar=bar, data_dir=data_dir,
                             max_position_pct=max_position_pct,
                             no_cache=no_cache or None, run_id=run_id, storage=storage,
                             study=study)  # fmt: skip
        _execute_stored(settings, from_run, symbol_list, output, entry_pct, socket, config,
                        gate)  # fmt: skip
        return
    if output is None:
        raise UsageError("--output: give a directory for the results")
    request = _request(settings, symbol_list, strategies, start, end, cash, max_pct, bar,
                       output, workers)  # fmt: skip
    chosen_id = checked_run_id("scan", run_id)
    shared = shared_storage(settings, storage, study)
    plan = _plan(settings, request, data_dir)
    if execute:
        gate.check_fresh(plan.period.end)  # too old: exit 2 before scanning
    link = _daemon(socket, config) if execute else None  # unreachable: exit 3 before scanning
    result, run_id = _scan(settings, request, plan, data_dir, execute, entry_pct, no_cache,
                           chosen_id, (shared, study))  # fmt: skip
    failed = bool(result.failed)
    if link is not None:
        from tradd.research.scan.candidates import candidates_from_summary

        picks = candidates_from_summary(result.summary(), None)
        policy = gate.policy(entry_pct or max_pct or DEFAULT_POSITION_PCT)
        failed = _execute(settings, picks, link, run_id, policy, output, scanned=True) or failed
    if failed:
        raise typer.Exit(EXIT_FAILURE)


def _percent(option: str, value: float | None) -> float | None:
    if value is not None and not 0 < value <= 100:
        raise UsageError(f"{option} {value:g}: must be more than 0 and at most 100")
    return value


def _only_with_execute(**given: Any) -> None:
    used = [f"--{k.replace('_', '-')}" for k, v in given.items() if v is not None]
    if used:
        raise UsageError(f"{', '.join(used)}: only with --execute")


def _refuse_scan_options(**given: Any) -> None:
    used = [f"--{k.replace('_', '-')}" for k, v in given.items() if v is not None]
    if used:
        sizing = " (size its entries with --position-pct)" if "--max-position-pct" in used else ""
        raise UsageError(
            f"--from-run uses the stored scan as it is: {', '.join(used)} do not apply{sizing}"
        )


def _request(
    settings: Settings,
    symbols: tuple[str, ...],
    strategies: list[str] | None,
    start: str | None,
    end: str | None,
    cash: float | None,
    max_pct: float | None,
    bar: str | None,
    output: Path,
    workers: int | None,
) -> ScanRequest:
    from dataclasses import replace

    from tradd.research.broker import BrokerConfig
    from tradd.research.scan.plan import ScanRequest

    if cash is not None and cash <= 0:
        raise UsageError(f"--cash {cash:g}: must be positive")
    if workers is not None and workers < 1:
        raise UsageError(f"--workers {workers}: must be at least 1")
    broker = replace(
        BrokerConfig.from_settings(settings.backtest),
        position_pct=max_pct or DEFAULT_POSITION_PCT,
    )
    if cash is not None:
        broker = replace(broker, cash=cash)
    return ScanRequest(
        symbols=symbols,
        strategies=split_list("--strategies", strategies) or ("all",),
        start=parse_date("--start", start),
        end=parse_date("--end", end),
        bar=bar or settings.data.default_bar,
        broker=broker,
        output=output,
        risk_free_rate=settings.backtest.risk_free_rate,
        workers=workers or settings.optimize.workers,
    )


def _daemon(socket: Path | None, config: Path | None) -> DaemonCall:
    """The control socket's client, after one `status` proves the daemon answers; exit 3
    (nothing sent, nothing run) when it does not."""
    from tradd.control.client import environment, find_socket
    from tradd.research.scan.execute import DaemonUnreachable

    try:
        path = find_socket(socket, config, environment())
    except ValueError as exc:
        raise UsageError(f"--config: {exc}") from None
    link = daemon_call(path)
    try:
        link("status", {}, 10.0)
    except DaemonUnreachable as exc:
        if path.exists():
            typer.echo(f"the daemon is not answering on {path} ({exc}): nothing sent", err=True)
        else:
            typer.echo(f"the daemon is not running (no control socket at {path}): nothing sent",
                       err=True)  # fmt: skip
        raise typer.Exit(EXIT_UNREACHABLE) from None
    return link


def daemon_call(socket: Path) -> DaemonCall:
    """`tradd.control.client.call` on `socket`, as the scan's execution calls the daemon:
    the control client's `Unreachable` becomes research's `DaemonUnreachable`."""
    from tradd.control.client import Unreachable, call
    from tradd.research.scan.execute import DaemonUnreachable

    def send(cmd: str, args: dict[str, Any], timeout: float) -> dict[str, Any]:
        try:
            return call(socket, cmd, args, timeout)
        except Unreachable as exc:
            raise DaemonUnreachable(str(exc)) from exc

    return send


def _plan(settings: Settings, request: ScanRequest, data_dir: Path | None) -> ScanPlan:
    from tradd.research.scan.runner import build_plan

    return build_plan(request, data_store(settings, data_dir))


def _scan(
    settings: Settings,
    request: ScanRequest,
    plan: ScanPlan,
    data_dir: Path | None,
    execute: bool,
    entry_pct: float | None,
    no_cache: bool = False,
    run_id: str | None = None,
    shared: tuple[str | None, str | None] = (None, None),
) -> tuple[ScanResult, str]:
    from tradd.cli.common import report_console
    from tradd.research.runs import tracked_run
    from tradd.research.scan.cached import open_scan_cache
    from tradd.research.scan.job import request_document
    from tradd.research.scan.render import (
        cache_line,
        print_failures,
        print_scan,
        run_with_progress,
    )
    from tradd.research.scan.runner import write_outputs
    from tradd.research.scan.shared import scan_study

    study = scan_study(shared[0], shared[1], request.output, plan)
    document = request_document(request, plan, data_dir, execute, entry_pct)
    document["cache"] = not no_cache
    if study is not None:
        document["study"] = study.name
    log().info("scan started", symbols=plan.symbols, strategies=len(plan.strategies),
               period=plan.period.as_dict(), output=str(request.output))  # fmt: skip
    with (
        tracked_run(
            settings, "scan", document, request.output, total=plan.total, run_id=run_id
        ) as run,
        open_scan_cache(settings, read=not no_cache) as cache,
    ):
        result = run_with_progress(plan, request.workers, run, cache, study)
        json_path, csv_path = write_outputs(result, run.id, request.output)
        run.complete(result.summary())
    console = report_console()
    if plan.period.defaulted:
        console.print(f"period {plan.period.start} .. {plan.period.end} (default: 365 days "
                      "up to the last bar all the symbols have)", markup=False)  # fmt: skip
        if plan.period.note:
            console.print(f"note: {plan.period.note}", markup=False)
    print_scan(console, result)
    print_failures(console, result)
    log().info("scan finished", run_id=run.id, cache_hits=result.cache_hits,
               **result.summary()["counts"])  # fmt: skip
    counts = result.summary()["counts"]
    console.print(cache_line(result, cache), markup=False)
    console.print(f"run {run.id}: {counts['complete']} backtests, {counts['failed']} failed; "
                  f"wrote {json_path} and {csv_path}", markup=False)  # fmt: skip
    return result, run.id


def _execute(
    settings: Settings,
    picks: list[Candidate],
    link: DaemonCall,
    run_id: str,
    policy: Policy,
    output: Path,
    scanned: bool = False,
) -> bool:
    """Send, print, record; True if any symbol failed.

    The daemon stopping between its first `status` and this one sends nothing: exit 3
    when nothing ran either (--from-run), 1 after a scan ran (it is recorded, and its
    entries can be sent later with --from-run)."""
    from tradd.cli.common import report_console
    from tradd.research.scan.execute import DaemonUnreachable
    from tradd.research.scan.job import execute_and_record
    from tradd.research.scan.render import print_execution

    try:
        rows, path = execute_and_record(settings, picks, link, run_id, policy, output)
    except DaemonUnreachable as exc:
        if not scanned:
            typer.echo(f"the daemon stopped answering ({exc}): nothing sent", err=True)
            raise typer.Exit(EXIT_UNREACHABLE) from None
        typer.echo(f"the scan ran (run {run_id}) but the daemon stopped answering before "
                   f"anything was sent ({exc}): nothing sent; send its entries later with "
                   f"`tradd scan --execute --from-run {run_id}`", err=True)  # fmt: skip
        raise typer.Exit(EXIT_FAILURE) from None
    console = report_console()
    print_execution(console, rows, run_id)
    for row in rows:
        log().info("scan entry", run_id=run_id, **{k: v for k, v in row.as_dict().items() if v})
    console.print(f"wrote {path} (and the run's summary: tradd runs show {run_id})", markup=False)
    return any(r.status == "failed" for r in rows)


def _execute_stored(
    settings: Settings,
    run_id: str,
    symbols: tuple[str, ...],
    output: Path | None,
    pct: float | None,
    socket: Path | None,
    config: Path | None,
    gate: Gate,
) -> None:
    from tradd.marketdata.bars import normalize_symbol
    from tradd.research.scan.candidates import period_end
    from tradd.research.scan.job import stored_scan

    stored = stored_scan(settings, run_id, [normalize_symbol(s) for s in symbols])
    target = output or (Path(stored.run.output) if stored.run.output else None)
    if target is None:
        raise UsageError("--output: the stored run has no output directory; give one")
    gate.check_fresh(period_end(stored.run.summary or {}))
    request = stored.run.request  # the scan's own --position-pct, then its sizing, as it did
    chosen = (pct or request.get("position_pct") or request.get("max_position_pct")
              or DEFAULT_POSITION_PCT)  # fmt: skip
    link = _daemon(socket, config)
    if _execute(settings, stored.candidates, link, run_id, gate.policy(float(chosen)), target):
        raise typer.Exit(EXIT_FAILURE)
