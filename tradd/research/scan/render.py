"""Rich output for `tradd scan`: the progress bar (stderr), the ranking per symbol, and what
`--execute` did."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tradd.research.progress import ProgressBar
from tradd.research.runs import RunHandle
from tradd.research.scan.cached import ScanCache
from tradd.research.scan.execute import ExecutionRow, short
from tradd.research.scan.plan import ScanPlan
from tradd.research.scan.runner import ScanResult, run_scan
from tradd.research.shared.units import UnitStudy

BEST = "★ best"


def _number(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def run_with_progress(
    plan: ScanPlan,
    workers: int | None,
    run: RunHandle,
    cache: ScanCache | None = None,
    study: UnitStudy | None = None,
) -> ScanResult:
    """The scan with a progress bar on stderr; each backtest is also the run's progress."""
    with ProgressBar("scanning", run) as bar:
        return run_scan(
            plan,
            workers,
            lambda row: bar.describe(f"scanning ({row.symbol})"),
            progress=bar.update,
            notice=bar.notice,
            cache=cache,
            study=study,
        )


def cache_line(result: ScanResult, cache: ScanCache) -> str:
    """How much of the scan came from the backtest cache."""
    line = f"{result.cache_hits} of {len(result.rows)} backtests from the cache"
    if not cache.cache.enabled:
        return f"{line} (the cache is off: [runs] cache_days is 0, or the database failed)"
    return line if cache.read else f"{line} (--no-cache: not read; results stored)"


def print_scan(console: Console, result: ScanResult) -> None:
    """One table per symbol, ranked; failed rows last, with their error."""
    period = result.period
    for symbol, best in result.best.items():
        rows = [r for r in result.rows if r.symbol == symbol]
        rows.sort(key=lambda r: (r.rank is None, r.rank or 0))
        title = (
            f"{symbol} {period.start} .. {period.end}: best {short(best.strategy) if best else '-'}"
        )
        table = Table(title=escape(title))
        for column in ("rank", "strategy", "score", "return %", "Sharpe", "win rate %",
                       "max dd %", "trades", ""):  # fmt: skip
            left = column in ("strategy", "")
            table.add_column(column, justify="left" if left else "right", no_wrap=left)
        for row in rows:
            note = BEST if row.rank == 1 else ("failed (below)" if row.failed else "")
            table.add_row(
                str(row.rank or "-"), short(row.strategy),
                _number(row.composite_score, ".1f"), _number(row.total_return, ".2f"),
                _number(row.sharpe, ".3f"), _number(row.win_rate, ".1f"),
                _number(row.max_drawdown, ".2f"),
                "-" if row.total_trades is None else str(row.total_trades), escape(note),
            )  # fmt: skip
        console.print(table)


def print_failures(console: Console, result: ScanResult) -> None:
    """Each failed backtest's error; one line for a symbol whose strategies all failed alike."""
    for symbol in result.best:
        failed = [r for r in result.failed if r.symbol == symbol]
        errors = {r.error for r in failed}
        every = len(failed) == sum(1 for r in result.rows if r.symbol == symbol)
        if failed and every and len(errors) == 1:
            console.print(f"failed: {symbol}, every strategy: {failed[0].error}", markup=False)
            continue
        for row in failed:
            console.print(f"failed: {symbol} {short(row.strategy)}: {row.error}", markup=False)


def print_execution(console: Console, rows: Sequence[ExecutionRow], run_id: str) -> None:
    table = Table(title=f"execution of {run_id}")
    for column in ("symbol", "strategy", "daemon strategy", "result", "shares", "value",
                   "detail"):  # fmt: skip
        table.add_column(column, justify="right" if column in ("shares", "value") else "left")
    for row in rows:
        table.add_row(
            row.symbol, short(row.strategy), escape(row.daemon_strategy or "-"), row.status,
            _number(row.quantity, "g"), _number(row.value or row.requested_value, ",.2f"),
            escape(_detail(row)),
        )  # fmt: skip
    console.print(table)


def _detail(row: ExecutionRow) -> str:
    if row.status == "executed":
        text = f"order {row.order_ref} at ~{_number(row.price, 'g')}"
    else:
        text = row.reason or ""
    for rule in row.rules:
        text += f"; {rule.get('rule')} ({rule.get('action')}): {rule.get('message')}"
    return f"{text}; note: {row.note}" if row.note else text
