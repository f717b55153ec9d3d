"""`tradd walkforward`: optimize in sample, test out of sample, window after window.

The command only turns options into a `WalkForwardRequest`, shows progress and prints the
tables; `run_walkforward` does the work (so whatever records runs can call it the same way).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tradd.cli.common import data_store, log, settings_for
from tradd.cli.config_cmd import ConfigOption
from tradd.cli.data_cmd import BarOption, DataDirOption
from tradd.cli.propose import ProposeForOption, propose, propose_target, walkforward_found
from tradd.cli.research_cmd import (
    CashOption,
    ConfirmOption,
    EndOption,
    NoKernelOption,
    ObjectiveOption,
    ParamOption,
    ParamsFileOption,
    StartOption,
    StrategyOption,
    SymbolsOption,
    WorkersOption,
    _inputs,
    checked_confirm,
)
from tradd.cli.run_id import RunIdOption, checked_run_id
from tradd.cli.shared_study import SharedStorageOption, SharedStudyOption, shared_storage
from tradd.config.settings import Settings
from tradd.errors import EXIT_INTERRUPTED

if TYPE_CHECKING:
    from tradd.research.runs.tracked import RunHandle
    from tradd.research.walkforward.runner import WalkForwardRequest, WalkForwardResult


def register(app: typer.Typer) -> None:
    """Add the command(s) to the tree."""
    app.command("walkforward")(walkforward)


def walkforward(
    strategy: StrategyOption,
    symbols: SymbolsOption,
    output: Annotated[
        Path, typer.Option("--output", help="Directory for walkforward.json, CSVs and charts.")
    ],
    start: StartOption = None,
    end: EndOption = None,
    is_months: Annotated[
        int, typer.Option("--is-months", help="In-sample (optimization) months per window.")
    ] = 12,
    oos_months: Annotated[
        int, typer.Option("--oos-months", help="Out-of-sample months; windows step by this.")
    ] = 6,
    mode: Annotated[
        str, typer.Option("--mode", help="rolling (fixed IS length) or anchored (IS grows).")
    ] = "rolling",
    method: Annotated[str, typer.Option("--method", help="grid or bayesian.")] = "grid",
    trials: Annotated[int, typer.Option("--trials", help="Bayesian: trials per window.")] = 50,
    param: ParamOption = None,
    params_file: ParamsFileOption = None,
    objective: ObjectiveOption = None,
    workers: WorkersOption = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Sampler seed (+ window).")] = None,
    confirm: ConfirmOption = 20,
    no_kernel: NoKernelOption = False,
    cash: CashOption = None,
    bar: BarOption = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    run_id: RunIdOption = None,
    propose_for: ProposeForOption = None,
    storage: SharedStorageOption = None,
    study: SharedStudyOption = None,
) -> None:
    """Walk-forward analysis: per window, optimize in sample, trade the best out of sample."""
    from tradd.research.walkforward.runner import WalkForwardRequest

    chosen_id = checked_run_id("walkforward", run_id)
    settings = settings_for(config)
    target = propose_target(settings, propose_for, strategy)
    request = WalkForwardRequest(
        inputs=_inputs(settings, strategy, symbols, start, end, bar, cash),
        is_months=is_months,
        oos_months=oos_months,
        mode=mode,  # type: ignore[arg-type]  # checked by run_walkforward
        method=method,  # type: ignore[arg-type]
        param_args=tuple(param or []),
        params_file=params_file,
        objective=objective or settings.optimize.objective,
        output=output,
        trials=trials,
        workers=workers or settings.optimize.workers,
        seed=seed if seed is not None else settings.optimize.seed,
        storage=shared_storage(settings, storage, study),
        study=study,
        confirm=checked_confirm(confirm),
        use_kernel=not no_kernel,
    )
    log().info(
        "walkforward started",
        strategy=strategy,
        symbols=request.inputs.symbols,
        mode=mode,
        method=method,
        output=str(output),
    )
    from tradd.research.runs.tracked import tracked_run

    document = _run_request(request)
    with tracked_run(
        settings, "walkforward", document, output, required=False, run_id=chosen_id
    ) as run:
        result = _walkforward_with_progress(request, settings, data_dir, run)
        run.complete(_run_summary(result))
        log().info(
            "walkforward finished",
            run_id=run.id,
            windows=len(result.results),
            planned=len(result.windows),
            interrupted=result.interrupted,
            result=str(result.result_path),
        )
        _print_result(result)
        if target is not None:
            found = walkforward_found(result, request.inputs.symbols, output)
            propose(settings, target, "walkforward", found, run)
        typer.echo(run.describe())
        if result.interrupted:
            raise typer.Exit(EXIT_INTERRUPTED)


def _run_request(request: WalkForwardRequest) -> dict[str, Any]:
    """What the persisted run shows as its request."""
    from tradd.cli.progress import inputs_request

    return {
        **inputs_request(request.inputs, request),
        "is_months": request.is_months,
        "oos_months": request.oos_months,
        "mode": request.mode,
        "trials": request.trials if request.method == "bayesian" else None,
        **({"study": request.study} if request.study else {}),
    }


def _run_summary(result: WalkForwardResult) -> dict[str, Any]:
    summary = result.summary.as_dict() if result.summary is not None else {}
    return {
        **summary,
        "windows_done": len(result.results),
        "windows_planned": len(result.windows),
        "result": str(result.result_path),
        **({"shared": result.shared} if result.shared is not None else {}),
    }


def _walkforward_with_progress(
    request: WalkForwardRequest, settings: Settings, data_dir: Path | None, run: RunHandle
) -> WalkForwardResult:
    """The walk-forward under a progress bar of IS trials that counts finished windows; the
    finished windows also go to `leaderboard.json` (for the web console's watchers)."""
    from tradd.research.leaderboard import LiveLeaderboard
    from tradd.research.progress import ProgressBar
    from tradd.research.walkforward.report import window_entry
    from tradd.research.walkforward.runner import WalkForwardProgress, run_walkforward

    finished: list[int] = []
    board = LiveLeaderboard(request.output, "walkforward", request.objective)
    with ProgressBar("walk-forward: IS trials", run) as bar:

        def window_done(result: Any) -> None:
            finished.append(result.window.index)
            entry = window_entry(result)
            board.window({k: v for k, v in entry.items()
                          if not isinstance(v, dict) or k == "best_params"})  # fmt: skip
            log().info(
                "walkforward window finished",
                window=result.window.index,
                best_params=result.best_params,
                is_sharpe=result.is_metrics.sharpe,
                oos_sharpe=result.oos_metrics.sharpe,
            )
            bar.describe(f"walk-forward: IS trials ({len(finished)} windows done)")

        callbacks = WalkForwardProgress(bar.update, window_done, bar.notice)
        try:
            return run_walkforward(request, data_store(settings, data_dir), callbacks)
        finally:
            board.flush()


def _print_result(result: WalkForwardResult) -> None:
    from rich.table import Table

    from tradd.cli.common import report_console

    console = report_console()
    if result.summary is None:
        console.print("interrupted before any window finished; nothing written")
        return
    names = [r.name for r in result.space if len(r.values) > 1] or [r.name for r in result.space]
    table = Table(title="walk-forward windows")
    for column in ("#", "in sample", "out of sample", *names):
        table.add_column(column)
    for column in (
        "IS Sharpe", "OOS Sharpe", "degr.", "OOS ret %", "OOS dd %", "trades", "IS DSR", "PBO"
    ):  # fmt: skip
        table.add_column(column, justify="right")
    for r in result.results:
        w, o, pbo, dsr = r.window, r.oos_metrics, r.overfitting.pbo, r.overfitting.dsr
        table.add_row(
            str(w.index),
            f"{w.is_start}..{w.is_end}",
            f"{w.oos_start}..{w.oos_end}" + (" (cut)" if w.truncated else ""),
            *(str(r.best_params.get(n)) for n in names),
            f"{r.is_metrics.sharpe:.3f}",
            f"{o.sharpe:.3f}",
            f"{r.degradation:.3f}",
            f"{o.total_return:.2f}",
            f"{o.max_drawdown:.2f}",
            str(o.total_trades),
            "-" if dsr is None else f"{dsr.dsr:.2f}",
            "-" if pbo is None else f"{pbo.pbo:.2f}",
        )
    console.print(table)
    _print_summary(console, result)


def _print_summary(console: Any, result: WalkForwardResult) -> None:
    from rich.table import Table

    assert result.summary is not None
    s = result.summary
    wfe = s.walk_forward_efficiency
    psr = s.overfitting.get("oos_psr")
    pbo = s.overfitting.get("pbo_mean")
    table = Table(title=f"summary of {s.windows} of {len(result.windows)} windows")
    table.add_column("statistic")
    table.add_column("value", justify="right")
    for name, value in (
        ("avg IS Sharpe", f"{s.avg_is_sharpe:.3f}"),
        ("avg OOS Sharpe", f"{s.avg_oos_sharpe:.3f}"),
        ("avg degradation", f"{s.avg_degradation:.3f} ({s.degradation_pct:.1f}%)"),
        ("consistency (profitable OOS)", f"{s.consistency:.0%}"),
        ("walk-forward efficiency", "-" if wfe is None else f"{wfe:.2f}"),
        ("stitched OOS return", f"{s.oos_total_return:.2f}%"),
        ("stitched OOS Sharpe", f"{s.oos_sharpe:.3f}"),
        ("stitched OOS max drawdown", f"{s.oos_max_drawdown:.2f}%"),
        ("stitched OOS PSR (prob. Sharpe > 0)", "-" if psr is None else f"{psr['psr']:.2f}"),
        ("mean PBO", "-" if pbo is None else f"{pbo:.2f}"),
    ):
        table.add_row(name, value)
    for name, st in s.parameter_stability.items():
        cv = "-" if st.cv is None else f"{st.cv:.2f}"
        share = "-" if st.most_common_share is None else f"{st.most_common_share:.0%}"
        common = f"most often {st.most_common} ({share})"
        if st.mean is not None and st.std is not None:
            common = f"mean {st.mean:g}, std {st.std:.3g}, cv {cv}; {common}"
        table.add_row(f"param {name}", common)
    console.print(table)
    for warning in s.overfitting.get("warnings", []):
        console.print(f"[yellow]warning: {warning}[/yellow]")
    if result.failed_note:
        console.print(
            f"warning: {result.failed_note}", style="yellow", markup=False, soft_wrap=True
        )
    if result.interrupted:
        console.print("[yellow]interrupted: the report covers the finished windows only[/yellow]")
    console.print(f"report: {result.result_path} ({', '.join(result.files.values())})")
