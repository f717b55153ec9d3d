"""A scan shared through a study (`--storage/--study`): one unit per (symbol, strategy) row.

Every process that joins with the same arguments runs the rows nobody has claimed
(`tradd.research.shared`) and reports every row stored in the study, whoever ran it. The
rows this machine's backtest cache holds are taken and stored at once, without a
backtest; only the rows run here are stored in this machine's cache (another machine's
data files may differ). A row whose worker died is a failed row, as without a study.
Without `--storage` none of this runs (`pool.run_pool`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from tradd.errors import TraddError
from tradd.marketdata.bars import Bars
from tradd.research.basis import basis_for, calendars_for
from tradd.research.costs import costs_for
from tradd.research.optimize.storage import parse_storage
from tradd.research.pool import Reporter
from tradd.research.scan.plan import ScanPlan
from tradd.research.scan.pool import load_history
from tradd.research.scan.rows import EquityCurve, ScanRow, backtest_row
from tradd.research.shared.unitpool import UnitHooks, run_units
from tradd.research.shared.units import UnitStudy, end_unit, open_units, take_unit

KIND = "scan"
SEPARATOR = " "
"""Between symbol and strategy path in a unit's key (neither holds a space)."""


def encode_row(row: ScanRow) -> str:
    return json.dumps(asdict(row))


def decode_row(text: str) -> ScanRow:
    data = json.loads(text)
    curve = data.pop("equity")
    equity = None if curve is None else EquityCurve(tuple(curve["dates"]), tuple(curve["values"]))
    return ScanRow(**data, equity=equity)


def row_key(symbol: str, path: str) -> str:
    return f"{symbol}{SEPARATOR}{path}"


def scan_study(
    storage: str | None, name: str | None, output: Path, plan: ScanPlan
) -> UnitStudy | None:
    """The study of `--storage/--study` (None: not shared; UsageError: a bad URL)."""
    if storage is None:
        return None
    spec = parse_storage(storage, output)
    text = json.dumps(scan_spec(plan), sort_keys=True, default=str)
    return UnitStudy(spec, name or f"scan-{hashlib.sha256(text.encode()).hexdigest()[:10]}", KIND)


def scan_spec(plan: ScanPlan) -> dict[str, Any]:
    """What a process joining the study must agree on."""
    return {
        "symbols": list(plan.symbols),
        "strategies": [path for path, _ in plan.strategies],
        "start": plan.period.start.isoformat(),
        "end": plan.period.end.isoformat(),
        "bar": plan.bar,
        "broker": asdict(plan.broker),
        "risk_free_rate": plan.risk_free_rate,
    }


@dataclass(frozen=True)
class SharedRows:
    rows: dict[tuple[str, str], ScanRow]
    """Every row stored in the study, whoever ran it."""
    ran_here: int
    from_cache: int
    interrupted: bool


def run_shared_scan(
    plan: ScanPlan,
    study: UnitStudy,
    workers: int,
    arrived: Callable[[ScanRow], None],
    notice: Callable[[str], None],
    hits: Sequence[ScanRow] = (),
) -> SharedRows:
    """Lay out (or join) the rows, store this machine's cache hits, run the rest here and
    with whoever joins; `arrived` gets each row this process produced."""
    keys = [row_key(s, p) for s in plan.symbols for p, _ in plan.strategies]
    handle = open_units(study, scan_spec(plan), keys)
    from_cache = 0
    for row in hits:
        number = take_unit(handle, row_key(row.symbol, row.strategy))
        if number is not None:
            end_unit(handle, number, "", requeue=False, result=encode_row(row))
            from_cache += 1
            arrived(row)
    hooks = UnitHooks(
        done=lambda _key, text: arrived(decode_row(text)),
        died=lambda key, reason: encode_row(_failed_row(key, reason)),
        notice=notice,
    )
    outcome = run_units(study, handle, _RowWork(plan), max(1, workers), hooks)
    rows = {}
    for text in outcome.stored.results.values():
        row = decode_row(text)
        rows[(row.symbol, row.strategy)] = row
    return SharedRows(rows, outcome.ran_here, from_cache, outcome.interrupted)


def _failed_row(key: str, reason: str) -> ScanRow:
    symbol, path = key.split(SEPARATOR, 1)
    return ScanRow(symbol, path, error=reason)


class _RowWork:
    """Runs one row in a worker; keeps the last symbol's bars (consecutive rows are
    mostly the same symbol's: they are laid out symbol by symbol)."""

    def __init__(self, plan: ScanPlan) -> None:
        self.plan = plan
        self._symbol = ""
        self._bars: Bars | str = ""

    def __call__(self, key: str, _reporter: Reporter) -> str:
        symbol, path = key.split(SEPARATOR, 1)
        plan = self.plan
        if symbol != self._symbol:
            self._symbol = symbol
            try:
                self._bars = load_history(plan, symbol)
            except TraddError as exc:
                self._bars = str(exc)
        if isinstance(self._bars, str):
            return encode_row(ScanRow(symbol, path, error=self._bars))
        strategy = dict(plan.strategies)[path]
        basis = basis_for(plan.bar, calendars_for([symbol], plan.definitions))
        costs = costs_for([symbol], plan.broker.rates, plan.definitions)
        row = backtest_row(
            symbol, path, strategy, self._bars, plan.broker, plan.risk_free_rate, basis,
            plan.period.start, costs,
        )  # fmt: skip
        return encode_row(row)
