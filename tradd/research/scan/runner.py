"""`tradd scan`: every strategy on every symbol, scored, ranked per symbol, written to DIR.

Outputs: `scan.json` ({run_id, period, settings, cache_hits, rows, best}, one row per
symbol and strategy in the order given, each with every key of `JSON_ROW_KEYS`: those of
`ROW_KEYS` and the daily `equity` curve, {dates, values} or null) and `scan.csv` (the rows,
the columns of `ROW_KEYS`: no curve). `cache_hits` counts the rows taken from the backtest
cache (`cached` true).
`settings` is the run's record (`research.run_settings`) at the scan's own position size;
each symbol is backtested alone, so each has its own return basis (`bases`); the top-level
basis, calendar and periods a year are null when the symbols' differ.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tradd.marketdata.contracts import load_definitions
from tradd.marketdata.store import DataStore
from tradd.research.basis import basis_for, calendars_for
from tradd.research.progress import Progress, ProgressCounter
from tradd.research.run_settings import settings_for
from tradd.research.scan.cached import ScanCache
from tradd.research.scan.discover import resolve_strategies
from tradd.research.scan.plan import Period, ScanPlan, ScanRequest, resolve_period, scan_symbols
from tradd.research.scan.pool import run_pool
from tradd.research.scan.rows import ROW_KEYS, ScanRow, best_by_symbol, rank_rows
from tradd.research.scan.shared import SharedRows, run_shared_scan
from tradd.research.shared.units import UnitStudy


@dataclass(frozen=True)
class ScanResult:
    period: Period
    rows: list[ScanRow]
    """Ranked, in symbol order then strategy order."""
    bar: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    cache_hits: int = 0
    """Rows taken from the backtest cache (`cached` true), not run again."""
    shared: dict[str, Any] | None = None
    """With --storage: study, storage, rows_run_here, rows_from_cache, rows_elsewhere."""

    @property
    def best(self) -> dict[str, ScanRow | None]:
        return best_by_symbol(self.rows)

    @property
    def failed(self) -> list[ScanRow]:
        return [r for r in self.rows if r.failed]

    def document(self, run_id: str) -> dict[str, Any]:
        return {
            "run_id": run_id,
            "period": self.period.as_dict(),
            "settings": self.settings,
            "cache_hits": self.cache_hits,
            **({"shared": self.shared} if self.shared is not None else {}),
            "rows": [r.as_dict() for r in self.rows],
            "best": {s: (r.strategy if r else None) for s, r in self.best.items()},
        }

    def summary(self) -> dict[str, Any]:
        """For the run's record: enough to `--execute --from-run` without the files (the
        best rows' metrics an entry is judged on, and the setup they were tested with:
        default parameters, `params` {}, on `bar`)."""
        return {
            "period": self.period.as_dict(),
            "bar": self.bar,
            "best": {s: (_best(r) if r else None) for s, r in self.best.items()},
            "cache_hits": self.cache_hits,
            **({"shared": self.shared} if self.shared is not None else {}),
            "counts": {
                "rows": len(self.rows),
                "complete": len(self.rows) - len(self.failed),
                "failed": len(self.failed),
                "symbols": len({r.symbol for r in self.rows}),
                "strategies": len({r.strategy for r in self.rows}),
            },
        }


def _best(row: ScanRow) -> dict[str, Any]:
    return {"strategy": row.strategy, "composite_score": row.composite_score,
            "total_return": row.total_return, "sharpe": row.sharpe,
            "max_drawdown": row.max_drawdown, "win_rate": row.win_rate,
            "total_trades": row.total_trades, "params": {}}  # fmt: skip


def build_plan(request: ScanRequest, store: DataStore) -> ScanPlan:
    """Check the request and resolve strategies and period (UsageError/DataError if bad)."""
    symbols = scan_symbols(request.symbols)
    strategies = resolve_strategies(request.strategies)
    period = resolve_period(symbols, request.start, request.end, request.bar, store)
    return ScanPlan(
        symbols, strategies, period, request.bar, request.broker, store,
        request.risk_free_rate, load_definitions(store.directory),
    )  # fmt: skip


def _ignore(_: object) -> None:
    return None


def run_scan(
    plan: ScanPlan,
    workers: int | None,
    on_row: Callable[[ScanRow], None] = _ignore,
    *,
    progress: Callable[[Progress], None] = _ignore,
    notice: Callable[[str], None] = _ignore,
    cache: ScanCache | None = None,
    study: UnitStudy | None = None,
) -> ScanResult:
    """Backtest the plan in `workers` processes (default: all cores); `progress` counts
    the backtests. With a `cache`, the rows it holds are taken from it (before any worker
    starts) and each row that ran and succeeded is stored in it as it arrives. With a
    `study`, the rows are shared with the processes that join it (`scan.shared`)."""
    settings = scan_settings(plan)  # first: a bad calendar in contracts.toml costs no backtest
    found: dict[tuple[str, str], ScanRow] = {}
    counter = ProgressCounter(progress)
    counter.start(plan.total)
    lookup = cache.look_up(plan) if cache is not None else None

    def arrived(row: ScanRow) -> None:
        found[(row.symbol, row.strategy)] = row
        counter.advance()
        on_row(row)
        if cache is not None and lookup is not None and not row.cached:
            cache.keep(lookup, [row])

    count = workers or os.cpu_count() or 1
    if study is not None:
        cached = lookup.hits if lookup else []
        shared = run_shared_scan(plan, study, count, arrived, notice, cached)
        if shared.interrupted:
            raise KeyboardInterrupt
        for unit, row in shared.rows.items():
            if unit not in found:
                found[unit] = row
                counter.advance()
        return _shared_result(plan, settings, found, study, shared, notice)
    for row in lookup.hits if lookup else ():
        arrived(row)
    todo = lookup.todo if lookup else None
    run_pool(plan, count, arrived, notice, todo)
    ordered = [found[(s, path)] for s in plan.symbols for path, _ in plan.strategies]
    hits = len(lookup.hits) if lookup else 0
    return ScanResult(plan.period, rank_rows(ordered), plan.bar, settings, hits)


def _shared_result(
    plan: ScanPlan,
    settings: dict[str, Any],
    found: dict[tuple[str, str], ScanRow],
    study: UnitStudy,
    shared: SharedRows,
    notice: Callable[[str], None],
) -> ScanResult:
    """The scan from the study's rows; a row still missing (running elsewhere, no
    progress for long) is a failed row that says so."""
    missing = "not finished by the process that claimed it (running elsewhere, or lost)"
    ordered = [found.get((s, p)) or ScanRow(s, p, error=missing)
               for s in plan.symbols for p, _ in plan.strategies]  # fmt: skip
    record = {
        "study": study.name,
        "storage": study.storage.display,
        "rows_run_here": shared.ran_here,
        "rows_from_cache": shared.from_cache,
        "rows_elsewhere": len(shared.rows) - shared.ran_here - shared.from_cache,
    }
    notice(f"study {study.name} ({study.storage.display}): {shared.ran_here} row(s) ran here, "
           f"{shared.from_cache} from the cache, {record['rows_elsewhere']} elsewhere")  # fmt: skip
    from_cache = sum(1 for r in ordered if r.cached)
    return ScanResult(plan.period, rank_rows(ordered), plan.bar, settings, from_cache, record)


def scan_settings(plan: ScanPlan) -> dict[str, Any]:
    """The record of the scan's backtests: its broker (the scan's position size, not the
    backtest default), and each symbol's basis, commissions and multiplier."""
    bases = {s: basis_for(plan.bar, calendars_for([s], plan.definitions)) for s in plan.symbols}
    first = bases[plan.symbols[0]]
    shared = all(b == first for b in bases.values())
    record = settings_for(
        plan.bar, plan.broker, plan.risk_free_rate, first, plan.symbols, plan.definitions
    ).as_dict()
    if not shared:
        record.update(basis=None, calendar=None, periods_per_year=None)
    record["bases"] = {s: b.as_dict() for s, b in bases.items()}
    return record


def write_outputs(result: ScanResult, run_id: str, output: Path) -> tuple[Path, Path]:
    output.mkdir(parents=True, exist_ok=True)
    json_path, csv_path = output / "scan.json", output / "scan.csv"
    document = result.document(run_id)
    json_path.write_text(json.dumps(document, indent=2, allow_nan=False) + "\n")
    with csv_path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(ROW_KEYS), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(document["rows"])
    return json_path, csv_path
