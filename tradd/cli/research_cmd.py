"""`tradd backtest` and `tradd optimize`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tradd.cli.common import (
    data_store,
    date_checked,
    log,
    parse_date,
    report_console,
    settings_for,
    split_list,
)
from tradd.cli.config_cmd import ConfigOption
from tradd.cli.data_cmd import BarOption, DataDirOption
from tradd.cli.propose import (
    ProposeForOption,
    optimize_found,
    propose,
    propose_target,
)
from tradd.cli.run_id import RunIdOption, checked_run_id
from tradd.config.settings import Settings
from tradd.errors import EXIT_INTERRUPTED, UsageError

if TYPE_CHECKING:
    from tradd.research.optimize.report import Summary
    from tradd.research.runs.tracked import RunHandle
    from tradd.research.setup import ResearchInputs

StrategyOption = Annotated[
    str, typer.Option("--strategy", help="Dotted path, e.g. strategies.sma_cross.SmaCross.")
]
SymbolsOption = Annotated[list[str], typer.Option("--symbols", help="Symbols (A,B or A B).")]
StartOption = Annotated[str | None, typer.Option(
    "--start", help="First day, YYYY-MM-DD.", callback=date_checked("--start"))]  # fmt: skip
EndOption = Annotated[str | None, typer.Option(
    "--end", help="Last day, YYYY-MM-DD.", callback=date_checked("--end"))]  # fmt: skip
ParamOption = Annotated[
    list[str] | None,
    typer.Option("--param", help="NAME=VALUE (optimize: START:STOP:STEP or a,b,c)."),
]
CashOption = Annotated[float | None, typer.Option("--cash", help="Starting cash.")]
ParamsFileOption = Annotated[
    Path | None,
    typer.Option("--params-file", help="TOML file with ranges under a params table."),
]
ObjectiveOption = Annotated[
    str | None, typer.Option("--objective", help="sharpe, returns, calmar or composite.")
]
WorkersOption = Annotated[
    int | None, typer.Option("--workers", help="Processes (default: all cores).")
]
ConfirmOption = Annotated[
    int,
    typer.Option(
        "--confirm", help="With a kernel: how many of the screen's best to run in Backtrader."
    ),
]
NoKernelOption = Annotated[
    bool, typer.Option("--no-kernel", help="Every trial in Backtrader, even with a kernel.")
]


def checked_confirm(confirm: int) -> int:
    if confirm < 1:
        raise UsageError(f"--confirm {confirm}: must be at least 1")
    return confirm


WarmupOption = Annotated[
    str | None,
    typer.Option(
        "--warmup",
        help="Bars before --start fed to warm the indicators up (measured from --start): "
        "auto (default: as many as the strategy needs) or a number; 0 = none.",
    ),
]


def register(app: typer.Typer) -> None:
    app.command("backtest")(backtest)
    app.command("optimize")(optimize)


def _inputs(
    settings: Settings,
    strategy: str,
    symbols: list[str],
    start: str | None,
    end: str | None,
    bar: str | None,
    cash: float | None,
    warmup: str | None = None,
) -> ResearchInputs:
    from dataclasses import replace

    from tradd.research.broker import BrokerConfig
    from tradd.research.setup import ResearchInputs
    from tradd.research.warmup import parse_warmup

    broker = BrokerConfig.from_settings(settings.backtest)
    if cash is not None:
        if cash <= 0:
            raise UsageError(f"--cash {cash}: must be positive")
        broker = replace(broker, cash=cash)
    return ResearchInputs(
        strategy,
        split_list("--symbols", symbols),
        parse_date("--start", start),
        parse_date("--end", end),
        bar or settings.data.default_bar,
        broker,
        settings.backtest.risk_free_rate,
        parse_warmup(warmup),
    )


def backtest(
    strategy: StrategyOption,
    symbols: SymbolsOption,
    output: Annotated[
        Path,
        typer.Option(
            "--output", help="Directory for result.json, equity.csv, returns.csv and equity.png."
        ),
    ],
    start: StartOption = None,
    end: EndOption = None,
    param: ParamOption = None,
    cash: CashOption = None,
    warmup: WarmupOption = None,
    bar: BarOption = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    risk: Annotated[
        bool,
        typer.Option(
            "--risk",
            help="Pass every order through the risk gate (the config's risk section), as "
            "live trading would; its decisions go to result.json.",
        ),
    ] = False,
) -> None:
    """Run one strategy with one parameter set; write result.json, the equity, returns and
    trades (CSV) and an equity chart."""
    from rich.table import Table

    from tradd.research.backtest import run_backtest
    from tradd.research.warmup import warmup_line

    settings = settings_for(config)
    inputs = _inputs(settings, strategy, symbols, start, end, bar, cash, warmup)
    log().info("backtest started", strategy=strategy, symbols=inputs.symbols, output=str(output))
    report = run_backtest(
        inputs,
        list(param or []),
        output,
        data_store(settings, data_dir),
        settings.risk if risk else None,
    )
    for line in report.gap_warnings:
        log().info("data gaps", detail=line)  # the file; the terminal gets the line below
        typer.echo(f"warning: {line}", err=True)
    m = report.metrics
    log().info("backtest finished", params=report.params, **report.metrics.as_dict())
    table = Table(title=f"{strategy} {report.params}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in (
        ("final value", f"{m.final_value:,.2f}"),
        ("total return", f"{m.total_return:.2f}%"),
        ("CAGR", f"{m.cagr:.2f}%"),
        ("Sharpe", f"{m.sharpe:.3f}"),
        ("Sortino", f"{m.sortino:.3f}"),
        ("Calmar", f"{m.calmar:.3f}"),
        ("volatility", f"{m.volatility:.2f}%"),
        ("max drawdown", f"{m.max_drawdown:.2f}%"),
        ("win rate", f"{m.win_rate:.1f}%"),
        ("trades", str(m.total_trades)),
        ("exposure", f"{m.exposure:.1f}%"),
    ):
        table.add_row(name, value)
    report_console().print(table)
    if report.warmup is not None:
        typer.echo(warmup_line(report.warmup))
    if report.risk_counts is not None:
        c = report.risk_counts
        typer.echo(
            f"risk: {c['blocked']} blocked, {c['resized']} resized, {c['alerts']} alerts, "
            f"{c['closes']} closes (decisions in result.json)"
        )
    typer.echo(
        f"wrote {report.result_path}, equity.csv, returns.csv, trades.csv and {report.chart_path}"
    )


def optimize(
    strategy: StrategyOption,
    symbols: SymbolsOption,
    output: Annotated[Path, typer.Option("--output", help="Directory for the report.")],
    start: StartOption = None,
    end: EndOption = None,
    method: Annotated[str, typer.Option("--method", help="grid or bayesian.")] = "grid",
    trials: Annotated[int, typer.Option("--trials", help="Bayesian: trials in the study.")] = 100,
    param: ParamOption = None,
    params_file: ParamsFileOption = None,
    objective: ObjectiveOption = None,
    workers: WorkersOption = None,
    storage: Annotated[
        str | None,
        typer.Option(
            "--storage",
            help="Shared Optuna storage: postgresql://..., sqlite:///..., or a .journal file.",
        ),
    ] = None,
    study: Annotated[
        str | None, typer.Option("--study", help="Study name to create or join.")
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Sampler seed.")] = None,
    confirm: ConfirmOption = 20,
    no_kernel: NoKernelOption = False,
    cash: CashOption = None,
    warmup: WarmupOption = None,
    bar: BarOption = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    run_id: RunIdOption = None,
    propose_for: ProposeForOption = None,
) -> None:
    """Search strategy parameters (grid or Bayesian), in parallel, resumable, shareable.

    A strategy with a kernel is screened at array speed first; the best --confirm
    combinations run in Backtrader, and every reported figure is Backtrader's."""
    from tradd.research.optimize.runner import OptimizeRequest
    from tradd.research.scoring import OBJECTIVES

    chosen_id = checked_run_id("optimize", run_id)
    settings = settings_for(config)
    if method not in ("grid", "bayesian"):
        raise UsageError(f"--method {method!r}: use grid or bayesian")
    chosen = objective or settings.optimize.objective
    if chosen not in OBJECTIVES:
        raise UsageError(f"--objective {chosen!r}: use one of {', '.join(OBJECTIVES)}")
    if workers is not None and workers < 1:
        raise UsageError(f"--workers {workers}: must be at least 1")
    checked_confirm(confirm)
    target = propose_target(settings, propose_for, strategy)
    configured = settings.optimize.storage
    request = OptimizeRequest(
        inputs=_inputs(settings, strategy, symbols, start, end, bar, cash, warmup),
        method=method,  # type: ignore[arg-type]
        param_args=tuple(param or []),
        params_file=params_file,
        objective=chosen,
        output=output,
        trials=trials,
        workers=workers or settings.optimize.workers,
        storage=storage or (configured.get_secret_value() if configured else None),
        study=study,
        seed=seed if seed is not None else settings.optimize.seed,
        confirm=confirm,
        use_kernel=not no_kernel,
    )
    log().info(
        "optimization started",
        strategy=strategy,
        method=method,
        symbols=request.inputs.symbols,
        objective=chosen,
        output=str(output),
        study=study,
    )
    from tradd.research.runs.tracked import tracked_run

    document = _run_request(request)
    with tracked_run(
        settings, "optimize", document, output, required=False, run_id=chosen_id
    ) as run:
        summary = _optimize_with_progress(request, settings, data_dir, run)
        run.complete(_run_summary(summary, output))
        _report_optimization(summary, output)
        if target is not None:
            propose(settings, target, "optimize", optimize_found(summary, output), run)
        typer.echo(run.describe())
        if summary.interrupted:
            raise typer.Exit(EXIT_INTERRUPTED)


def _run_request(request: Any) -> dict[str, Any]:
    """What the persisted run shows as its request."""
    from tradd.cli.progress import inputs_request

    trials = request.trials if request.method == "bayesian" else None
    return {**inputs_request(request.inputs, request), "trials": trials, "study": request.study}


def _run_summary(summary: Summary, output: Path) -> dict[str, Any]:
    best = summary.ranked[0] if summary.ranked else None
    overfitting = summary.overfitting.as_dict() if summary.overfitting is not None else None
    return {
        "optimization_id": summary.optimization_id,
        "study": summary.study,
        "complete": summary.count("complete"),
        "failed": summary.count("failed"),
        "best_params": best.params if best else None,
        "best_value": best.value if best else None,
        "overfitting": overfitting,
        "interrupted": summary.interrupted,
        "result": str(output / "optimization.json"),
    }


def _report_optimization(summary: Summary, output: Path) -> None:
    log().info(
        "optimization finished",
        optimization_id=summary.optimization_id,
        study=summary.study,
        storage=summary.storage,
        complete=summary.count("complete"),
        failed=summary.count("failed"),
        ran_here=summary.ran_here,
        interrupted=summary.interrupted,
        best_params=summary.ranked[0].params if summary.ranked else None,
    )
    _print_summary(summary, output)


def _optimize_with_progress(
    request: Any, settings: Settings, data_dir: Path | None, run: RunHandle
) -> Summary:
    """The optimization under a progress bar that also shows the best value so far, and the
    best parameter sets so far in `leaderboard.json` (for the web console's watchers)."""
    from tradd.research.leaderboard import LiveLeaderboard
    from tradd.research.optimize.runner import OptimizeProgress, run_optimization
    from tradd.research.progress import ProgressBar

    best: list[float] = []
    board = LiveLeaderboard(request.output, "optimize", request.objective)
    with ProgressBar("optimizing", run) as bar:

        def outcome(trial: Any) -> None:
            board.trial(trial.number, trial.state, trial.params, trial.value)
            if trial.value is not None and (not best or trial.value > best[0]):
                best[:] = [trial.value]
                bar.describe(f"optimizing (best {request.objective} {best[0]:.3f})")

        callbacks = OptimizeProgress(bar.update, outcome, bar.notice)
        try:
            return run_optimization(request, data_store(settings, data_dir), callbacks)
        finally:
            board.flush()


def _print_summary(summary: Summary, output: Path) -> None:
    from rich.table import Table

    console = report_console()
    names = [r.name for r in summary.space if len(r.values) > 1] or [r.name for r in summary.space]
    where = ", ".join(summary.symbols)
    table = Table(title=f"{summary.strategy} on {where}: top results by {summary.objective}")
    extra = () if summary.objective == "sharpe" else ("sharpe",)
    for column in ("rank", *names, summary.objective, "return %", *extra, "max dd %", "trades"):
        table.add_column(column, justify="right")
    for rank, (row, _) in enumerate(summary.top, start=1):
        m = row.metrics
        table.add_row(
            str(rank),
            *(str(row.params.get(n)) for n in names),
            f"{row.value:.3f}",
            f"{m.get('total_return', 0):.1f}",
            *(f"{m.get('sharpe', 0):.3f}" for _ in extra),
            f"{m.get('max_drawdown', 0):.1f}",
            str(int(m.get("total_trades", 0))),
        )
    console.print(table)
    counts = (
        f"{summary.count('complete')} complete, {summary.count('failed')} failed, "
        f"{summary.skipped_combinations + summary.count('skipped')} skipped as invalid"
    )
    console.print(f"study {summary.study} ({summary.storage}): {counts}")
    if summary.failed_note:
        console.print(
            f"warning: {summary.failed_note}", style="yellow", markup=False, soft_wrap=True
        )
    if summary.warmup is not None:
        from tradd.research.warmup import warmup_line

        console.print(warmup_line(summary.warmup), markup=False, soft_wrap=True)
    if summary.overfitting is not None:
        console.print(summary.overfitting.headline(), markup=False, soft_wrap=True)
        for note in summary.overfitting.notes:
            console.print(f"  {note}", style="dim", markup=False, soft_wrap=True)
        for warning in summary.overfitting.warnings:
            console.print(f"  warning: {warning}", style="yellow", markup=False, soft_wrap=True)
    console.print(f"report: {output / 'optimization.json'} ({', '.join(summary.files.values())})")
