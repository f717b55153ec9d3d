"""`tradd compare`: several strategies on the same data, ranked, tested, reported."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tradd.cli.common import data_store, log, settings_for, split_list
from tradd.cli.config_cmd import ConfigOption
from tradd.cli.data_cmd import BarOption, DataDirOption
from tradd.cli.research_cmd import (
    CashOption,
    EndOption,
    StartOption,
    SymbolsOption,
    WarmupOption,
    _inputs,
)
from tradd.cli.run_id import RunIdOption, checked_run_id
from tradd.config.settings import Settings
from tradd.errors import UsageError

if TYPE_CHECKING:
    from tradd.research.compare.analysis import Comparison
    from tradd.research.compare.report import ReportFiles
    from tradd.research.compare.runner import CompareRequest
    from tradd.research.runs.tracked import RunHandle

StrategiesOption = Annotated[
    list[str],
    typer.Option("--strategies", help="Dotted paths (A,B or A B), at least two; one may repeat."),
]
ParamsFromOption = Annotated[
    list[str] | None,
    typer.Option(
        "--params-from",
        help="Parameters per strategy, in order (repeat the option; fewer files: the rest "
        "use defaults): optimization.json, walkforward.json, result.json, or TOML with a "
        "params table.",
    ),
]


def register(app: typer.Typer) -> None:
    """Add the command(s) to the tree."""
    app.command("compare")(compare)


def compare(
    strategies: StrategiesOption,
    symbols: SymbolsOption,
    output: Annotated[
        Path,
        typer.Option("--output", help="The HTML report; JSON and PDF go beside it."),
    ] = Path("results/comparison.html"),
    start: StartOption = None,
    end: EndOption = None,
    params_from: ParamsFromOption = None,
    cash: CashOption = None,
    warmup: WarmupOption = None,
    bar: BarOption = None,
    data_dir: DataDirOption = None,
    config: ConfigOption = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers", help="Processes (default: one per strategy, at most one per core)."
        ),
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="html, pdf (needs Chromium) or both.")
    ] = "html",
    run_id: RunIdOption = None,
) -> None:
    """Run strategies on the same data: rank by Sharpe, test the differences, write a report."""
    from tradd.research.compare.browser import find_browser
    from tradd.research.compare.report import check_output, write_report
    from tradd.research.compare.runner import MIN_STRATEGIES, CompareRequest
    from tradd.research.runs.tracked import tracked_run

    chosen_id = checked_run_id("compare", run_id)
    check_output(output, fmt)
    paths = split_list("--strategies", strategies)
    if len(paths) < MIN_STRATEGIES:
        raise UsageError(f"--strategies: give at least {MIN_STRATEGIES} strategies to compare")
    if workers is not None and workers < 1:
        raise UsageError(f"--workers {workers}: must be at least 1")
    browser = find_browser(os.environ) if fmt != "html" else None  # before hours of work
    settings = settings_for(config)
    files_from = tuple(Path(p) for p in split_list("--params-from", params_from))
    request = CompareRequest(
        _inputs(settings, paths[0], symbols, start, end, bar, cash, warmup),
        paths,
        files_from,
        workers,
    )
    log().info("comparison started", strategies=paths, symbols=request.inputs.symbols)
    document = _run_request(request, warmup)
    with tracked_run(
        settings, "compare", document, output, required=False, run_id=chosen_id
    ) as run:
        comparison = _compare_with_progress(request, settings, data_dir, output, run)
        files = write_report(comparison, output, fmt, browser)
        run.complete(_run_summary(comparison, files))
        log().info(
            "comparison finished",
            ranking=[r.contender.label for r in comparison.runs],
            html=str(files.html),
            pdf=str(files.pdf) if files.pdf else None,
        )
        _print(comparison, files, fmt)
        typer.echo(run.describe())


def _run_request(request: CompareRequest, warmup: str | None) -> dict[str, Any]:
    """What the persisted run shows as its request."""
    inputs = request.inputs
    return {
        "strategies": list(request.strategies),
        "symbols": list(inputs.symbols),
        "start": str(inputs.start) if inputs.start else None,
        "end": str(inputs.end) if inputs.end else None,
        "bar": inputs.bar,
        "cash": inputs.broker.cash,
        "warmup": warmup,
        "params_from": [str(p) for p in request.params_files],
    }


def _run_summary(comparison: Comparison, files: ReportFiles) -> dict[str, Any]:
    best = comparison.runs[0]
    return {
        "ranking": [r.contender.label for r in comparison.runs],
        "best": best.contender.label,
        "best_sharpe": best.metrics.sharpe,
        "period": f"{comparison.start}..{comparison.end}",
        "result": str(files.json),
        "html": str(files.html),
    }


def _compare_with_progress(
    request: CompareRequest,
    settings: Settings,
    data_dir: Path | None,
    output: Path,
    run: RunHandle,
) -> Comparison:
    """The comparison under a progress bar of finished backtests (one per strategy); each
    finished strategy also goes to `<report>.leaderboard.json`, ranked by Sharpe (for the
    web console's watchers). The run starts once the strategies loaded: a mistake found
    before (a bad params file, missing data) records nothing."""
    from tradd.research.compare.run import run_comparison
    from tradd.research.compare.runner import CompareProgress
    from tradd.research.leaderboard import LiveLeaderboard
    from tradd.research.progress import ProgressBar, ProgressCounter

    board = LiveLeaderboard(output.parent, "compare", "sharpe",
                            name=f"{output.stem}.leaderboard.json")  # fmt: skip
    with ProgressBar("comparing: backtests", run) as bar:
        counter = ProgressCounter(bar.update)

        def finished(index: int, contender: Any, metrics: Any) -> None:
            board.trial(index, "complete", {"strategy": contender.label}, metrics.sharpe)
            counter.advance()

        callbacks = CompareProgress(counter.start, finished)
        try:
            return run_comparison(request, data_store(settings, data_dir), bar.notice, callbacks)
        finally:
            board.flush()


def _print(comparison: Comparison, files: ReportFiles, fmt: str) -> None:
    from rich.table import Table

    from tradd.cli.common import report_console
    from tradd.research.compare.html import METRIC_COLUMNS
    from tradd.research.warmup import warmup_line

    c = comparison
    console = report_console()
    table = Table(title=f"{', '.join(c.symbols)} {c.start} to {c.end}: ranked by Sharpe")
    for column in ("rank", "strategy", *(label for _, label, _ in METRIC_COLUMNS)):
        table.add_column(column, justify="left" if column == "strategy" else "right")
    for rank, run in enumerate(c.runs, start=1):
        cells = (fmt_cell(run.metrics) for *_, fmt_cell in METRIC_COLUMNS)
        table.add_row(str(rank), run.contender.label, *cells)
    console.print(table)
    for run in c.runs:
        if run.warmup is not None:
            line = warmup_line(run.warmup)
            console.print(f"{run.contender.label} {line}", highlight=False, markup=False)
    for pair in c.pairs:
        console.print(
            f"{pair.first} vs {pair.second}: {pair.reading}", highlight=False, markup=False
        )
    written = [files.html, files.json, *files.charts]
    if files.returns is not None:
        written.append(files.returns)
    if files.pdf is not None:
        written.append(files.pdf)
    console.print(f"wrote {', '.join(map(str, written))}", highlight=False, markup=False)
    if fmt == "pdf":
        console.print(f"(the HTML {files.html} is kept: the PDF was printed from it)")
