"""`tradd scan` in two stages, as `tradd optimize` searches (`tradd.research.optimize.two_stage`).

1. Screen: every row whose strategy has a vectorized kernel that can stand in for
   Backtrader on it (`KernelEngine.for_engine`) is computed by the kernel, in this
   process's pool: its metrics, composite score and equity curve, at array speed.
2. Confirm: Backtrader runs each symbol's best row (the one `--execute` would act on) and
   the best `confirm` rows overall, where screened (a row from the backtest cache is
   Backtrader's already and counts as confirmed), plus every row the kernel could not
   screen (a strategy without a kernel, a kernel that failed); each confirmation is also
   compared with its kernel run (`tradd.research.kernels.parity`). Should a symbol's best
   then still be a screened row (a confirmation scored lower than screened), it is
   confirmed too, until every symbol's best is Backtrader's.
3. One confirmation that differs (or that fails where the kernel ran): the kernel is not
   faithful on this run; a warning, and every other screened row runs in Backtrader too,
   so no figure of an unfaithful kernel is kept.

The rows not confirmed stay in the scan as screened (`ScanRow.engine` "kernel"); they are
never cached (the backtest cache holds Backtrader's rows only) and never a symbol's best.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tradd.errors import TemporaryError, TraddError
from tradd.research.basis import basis_for, calendars_for
from tradd.research.costs import costs_for
from tradd.research.kernels.engine import kernel_of
from tradd.research.pool import Done, Ending, Event, Failed, ForkPool, Reporter
from tradd.research.scan.plan import ScanPlan
from tradd.research.scan.pool import Unit, load_history
from tradd.research.scan.rows import ScanRow, best_by_symbol, kernel_row, rank_rows

RunBacktrader = Callable[[Sequence[Unit], frozenset[Unit], str | None], Mapping[Unit, ScanRow]]
"""(rows to run, those to compare with their kernel, stage: None for the first, then a
name) -> the rows Backtrader gave; the pool's, or a shared study's."""


@dataclass(frozen=True)
class Staged:
    rows: dict[Unit, ScanRow]
    """Every row: Backtrader's, the cache's (`known`), and the screened ones not confirmed."""
    screened: int
    confirmed: int
    seconds: float
    """The screen's wall time."""
    fallback: str | None = None
    """Why the kernel was found unfaithful (every row then ran in Backtrader)."""

    @property
    def record(self) -> dict[str, Any]:
        """scan.json's and the run summary's `kernel`."""
        kept = sum(1 for r in self.rows.values() if r.engine == "kernel")
        return {"screened": self.screened, "confirmed": self.confirmed,
                "not_confirmed": kept, "seconds": round(self.seconds, 3),
                "fallback": self.fallback}  # fmt: skip


def screen(
    plan: ScanPlan,
    units: Sequence[Unit],
    workers: int,
    clock: Callable[[], float] = time.perf_counter,
) -> tuple[dict[Unit, ScanRow], float]:
    """The kernel row of each unit the kernel can compute (in `units` order), and the
    seconds it took; one pool unit per symbol (the first in this process). Nothing when
    no more rows have a kernel than `plan.confirm`: Backtrader runs them all anyway."""
    began = clock()
    with_kernel = {path for path, strategy in plan.strategies if kernel_of(strategy) is not None}
    todo: dict[str, list[str]] = {}
    for symbol, path in units:
        if path in with_kernel:
            todo.setdefault(symbol, []).append(path)
    if sum(len(paths) for paths in todo.values()) <= (plan.confirm or 0):
        return {}, 0.0  # every row would be confirmed: the screen would only cost time
    first, *others = list(todo)
    # The first symbol here: it loads the kernels' compiled code once, before any fork.
    found = [_screen_symbol(plan, first, todo[first])]
    if workers <= 1 or len(others) <= 1:
        found += [_screen_symbol(plan, s, todo[s]) for s in others]
    else:
        found += _screened_in_pool(plan, others, todo, workers)
    rows = {(r.symbol, r.strategy): r for chunk in found for r in chunk}
    return {u: rows[u] for u in units if u in rows}, clock() - began


def _screen_symbol(plan: ScanPlan, symbol: str, paths: Collection[str]) -> list[ScanRow]:
    try:
        bars = load_history(plan, symbol)
    except TraddError:  # Backtrader's rows say so
        return []
    basis = basis_for(plan.bar, calendars_for([symbol], plan.definitions))
    costs = costs_for([symbol], plan.broker.rates, plan.definitions)
    rows = []
    for path, strategy in plan.strategies:
        if path in paths:
            row = kernel_row(
                symbol, path, strategy, bars, plan.broker, plan.risk_free_rate, basis,
                plan.period.start, costs,
            )  # fmt: skip
            if row is not None:
                rows.append(row)
    return rows


def _screened_in_pool(
    plan: ScanPlan, symbols: list[str], todo: Mapping[str, list[str]], workers: int
) -> list[list[ScanRow]]:
    results: dict[int, list[ScanRow]] = {}

    def work(_slot: int) -> Callable[[str, Reporter], list[ScanRow]]:
        return lambda symbol, _reporter: _screen_symbol(plan, symbol, todo[symbol])

    def sink(event: Event[list[ScanRow]]) -> None:
        if isinstance(event, Done):
            results[event.index] = event.result
        elif isinstance(event, Failed):  # a worker died: its symbol runs in Backtrader
            results[event.index] = []

    pool = ForkPool(work, min(workers, len(symbols)), noun="screens")
    if pool.run(symbols, sink) is not Ending.FINISHED:
        raise KeyboardInterrupt
    if len(results) != len(symbols):
        raise TemporaryError("the kernel screen lost a symbol's rows")
    return [results[i] for i in range(len(symbols))]


def chosen(rows: Mapping[Unit, ScanRow], confirm: int) -> list[Unit]:
    """Each symbol's best row and the best `confirm` overall (in `rows`' order; ties go
    to the earlier row, as `rank_rows` ranks)."""
    order = {unit: n for n, unit in enumerate(rows)}
    ranked = sorted(rows, key=lambda u: (-(rows[u].composite_score or 0.0), order[u]))
    picked = set(ranked[:confirm])
    seen: set[str] = set()
    for symbol, path in ranked:
        if symbol not in seen:
            seen.add(symbol)
            picked.add((symbol, path))
    return [u for u in rows if u in picked]


def run_staged(
    plan: ScanPlan,
    screened: Mapping[Unit, ScanRow],
    known: Mapping[Unit, ScanRow],
    units: Sequence[Unit],
    run_backtrader: RunBacktrader,
    notice: Callable[[str], None],
    seconds: float = 0.0,
) -> Staged:
    """Confirm the screen (`known`: rows already Backtrader's, from the cache; `units`:
    the rows to produce, in plan order; `plan.confirm` must be set)."""
    # The cache's rows take their places among the best: they are confirmed already.
    both = {u: known.get(u) or screened[u] for u in units if u in known or u in screened}
    ok = {u: r for u, r in both.items() if not r.failed}
    picked = [u for u in chosen(ok, plan.confirm or 1) if u not in known]
    plain = [u for u in units if u not in screened and u not in known]
    if screened:
        notice(f"screened {len(screened)} row(s) with their strategies' kernels in "
               f"{seconds:.2f}s; confirming {len(picked)} in Backtrader")  # fmt: skip
    first = set(picked) | set(plain)
    results = dict(run_backtrader([u for u in units if u in first], frozenset(picked), None))
    checked = list(picked)
    round_ = 1
    while True:
        differs = _first_mismatch(results, checked)
        if differs is not None:
            notice(f"warning: the kernel is not faithful on this run ({differs}); "
                   "falling back to Backtrader for the whole scan")  # fmt: skip
            rest = [u for u in screened if u not in results and u not in known]
            results.update(run_backtrader(rest, frozenset(), "fallback"))
            rows = {**screened, **known, **results}
            return Staged(rows, len(screened), len(checked), seconds, differs)
        rows = {**screened, **known, **results}
        ranked = rank_rows(rows[u] for u in units if u in rows)
        best = best_by_symbol(ranked).values()
        extra = [(r.symbol, r.strategy) for r in best if r is not None and r.engine == "kernel"]
        extra = [u for u in extra if u not in checked]  # tried: lost elsewhere (shared)
        if not extra:
            return Staged(rows, len(screened), len(checked), seconds)
        round_ += 1
        results.update(run_backtrader(extra, frozenset(extra), f"confirm-{round_}"))
        checked.extend(extra)


def _first_mismatch(results: Mapping[Unit, ScanRow], checked: Sequence[Unit]) -> str | None:
    """The first confirmation whose Backtrader run differs from its kernel's (or failed)."""
    for unit in checked:
        row = results.get(unit)
        if row is None:
            continue
        where = f"{row.symbol} {row.strategy}"
        if row.kernel_mismatch is not None:
            return f"{where}: {row.kernel_mismatch}"
        if row.failed:
            return f"{where}: Backtrader failed ({row.error}) where the kernel ran"
    return None
