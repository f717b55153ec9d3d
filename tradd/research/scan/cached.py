"""The scan's use of the backtest cache (`tradd.research.cache`): a (symbol, strategy)
whose every input is unchanged since an earlier scan is not backtested again.

A scan row depends on (and its key is made of; `row_document`):
- the code: the engine fingerprint (tradd's source and version, Python's, Backtrader's,
  NumPy's and pandas' versions) and the source of every module the strategy class is
  built from, with its dotted path;
- its parameters: `full_params(strategy, {})`, the defaults in full (what `backtest_row`
  runs);
- the data: the symbol, the bar size and the SHA-256 of the data file's bytes (all of
  it: the warm-up comes from bars before the start, and the file's later bars are cheap
  to be conservative about);
- the period: start and end, and the warm-up policy ("as many bars as the strategy
  needs", scan's only one). The warm-up actually used is a function of the strategy,
  its parameters, the data and the start, all in the key, so it needs no place of its own;
- the broker and costs: the whole `BrokerConfig` (cash, position size, slippage, every
  commission rate), the risk-free rate, and the `settings` record research runs write
  (`research.run_settings.settings_for` for this symbol: its return basis and calendar,
  commission scheme and multiplier), plus the symbol's contract definition from
  contracts.toml (calendar, hours, holidays, multiplier).

Only successful rows are stored. A failed row is not: a worker killed by the system, a
database or file glitch is not a property of the inputs, and telling those apart from
deterministic failures (no data, a strategy that raises) is not worth a wrong answer;
failed backtests are also the cheap ones. A row from the cache equals the row a fresh
run would give, apart from `cached` (its rank is computed again among the scan's rows):
its daily equity curve is stored with its metrics, so a cached row can be drawn too.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import backtrader as bt

from tradd.config.settings import Settings
from tradd.research.basis import basis_for, calendars_for
from tradd.research.cache import BacktestCache, Fingerprints, Uncacheable, cache_key
from tradd.research.cache import open_backtest_cache as open_cache
from tradd.research.run_settings import settings_for
from tradd.research.scan.plan import ScanPlan
from tradd.research.scan.rows import EquityCurve, ScanRow
from tradd.strategy_loader import full_params

KIND = "scan"
RESULT_FIELDS = ("total_return", "sharpe", "max_drawdown", "win_rate", "total_trades",
                 "composite_score", "warmup_bars", "warmup_enough", "equity")  # fmt: skip
Unit = tuple[str, str]
"""(symbol, strategy path)."""


def row_document(
    plan: ScanPlan, symbol: str, path: str, strategy: type[bt.Strategy], prints: Fingerprints
) -> dict[str, Any]:
    """Everything the row of `strategy` on `symbol` depends on (`Uncacheable` if a part
    has no stable form: no data file, a strategy without a source file)."""
    digest = prints.file(plan.store.path_for(symbol, plan.bar))
    if digest is None:
        raise Uncacheable(f"no {plan.bar} data file for {symbol}")
    basis = basis_for(plan.bar, calendars_for([symbol], plan.definitions))
    record = settings_for(plan.bar, plan.broker, plan.risk_free_rate, basis, [symbol],
                          plan.definitions)  # fmt: skip
    contract = plan.definitions.spec(symbol).model_dump(mode="json")
    contract["holidays"] = sorted(contract.get("holidays") or [])
    strategy_part = {"path": path, "sources": prints.strategy(strategy),
                     "params": full_params(strategy, {})}  # fmt: skip
    period = {"start": plan.period.start.isoformat(), "end": plan.period.end.isoformat(),
              "warmup": "needed"}  # fmt: skip
    return {
        "kind": "scan-row",
        "engine": prints.engine(),
        "strategy": strategy_part,
        "data": {"symbol": symbol, "bar": plan.bar, "sha256": digest},
        "period": period,
        "broker": asdict(plan.broker),
        "risk_free_rate": plan.risk_free_rate,
        "settings": record.as_dict(),
        "contract": contract,
    }


def result_of(row: ScanRow) -> dict[str, Any] | None:
    """What the cache keeps of a row (None: a failed row, not kept)."""
    if row.failed:
        return None
    result = {name: getattr(row, name) for name in RESULT_FIELDS}
    curve = row.equity
    result["equity"] = None if curve is None else {"dates": list(curve.dates),
                                                   "values": list(curve.values)}  # fmt: skip
    return result


def row_from(symbol: str, path: str, result: dict[str, Any]) -> ScanRow | None:
    """The row a cached result stands for (None when it is not one: treated as a miss)."""
    if set(result) != set(RESULT_FIELDS):
        return None
    numbers = [result[k] for k in RESULT_FIELDS[:6]]
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in numbers):
        return None
    trades, bars, enough = result["total_trades"], result["warmup_bars"], result["warmup_enough"]
    if not isinstance(trades, int) or not isinstance(bars, (int, type(None))):
        return None
    if not isinstance(enough, (bool, type(None))):
        return None
    try:
        curve = _curve(result["equity"])
    except ValueError:
        return None
    return ScanRow(
        symbol, path, total_return=float(result["total_return"]), sharpe=float(result["sharpe"]),
        max_drawdown=float(result["max_drawdown"]), win_rate=float(result["win_rate"]),
        total_trades=trades, composite_score=float(result["composite_score"]),
        warmup_bars=bars, warmup_enough=enough, cached=True, equity=curve,
    )  # fmt: skip


def _curve(stored: Any) -> EquityCurve | None:
    """The stored curve (None if the row had none); ValueError if it is not one."""
    if stored is None:
        return None
    if not isinstance(stored, dict) or set(stored) != {"dates", "values"}:
        raise ValueError("not a curve")
    dates, values = stored["dates"], stored["values"]
    if not isinstance(dates, list) or not isinstance(values, list) or len(dates) != len(values):
        raise ValueError("not a curve")
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    if not numbers or not all(isinstance(d, str) for d in dates):
        raise ValueError("not a curve")
    return EquityCurve(tuple(dates), tuple(float(v) for v in values))


@dataclass(frozen=True)
class Lookup:
    """What the cache had for a plan: `hits` (rows, in plan order), `keys` of the units to
    run that can be stored afterwards, and `todo`: symbol -> the strategy paths to run."""

    hits: list[ScanRow] = field(default_factory=list)
    keys: dict[Unit, str] = field(default_factory=dict)
    todo: dict[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass
class ScanCache:
    """The backtest cache as a scan uses it; `read` False (`--no-cache`): results are
    stored but none is looked up."""

    cache: BacktestCache
    prints: Fingerprints = field(default_factory=Fingerprints)
    read: bool = True

    def look_up(self, plan: ScanPlan) -> Lookup:
        keys: dict[Unit, str] = {}
        if self.cache.enabled:
            for symbol in plan.symbols:
                for path, strategy in plan.strategies:
                    try:
                        document = row_document(plan, symbol, path, strategy, self.prints)
                        keys[(symbol, path)] = cache_key(document)
                    except Uncacheable:
                        continue
        found = self.cache.lookup(list(keys.values())) if self.read and keys else {}
        hits: dict[Unit, ScanRow] = {}
        for unit, key in keys.items():
            row = row_from(*unit, found[key]) if key in found else None
            if row is not None:
                hits[unit] = row
        todo = {s: tuple(p for p, _ in plan.strategies if (s, p) not in hits) for s in plan.symbols}
        return Lookup(
            [hits[(s, p)] for s in plan.symbols for p, _ in plan.strategies if (s, p) in hits],
            {unit: key for unit, key in keys.items() if unit not in hits},
            {s: paths for s, paths in todo.items() if paths},
        )

    def keep(self, lookup: Lookup, rows: list[ScanRow]) -> int:
        """Store the rows that ran and succeeded; how many were new."""
        results: dict[str, dict[str, Any]] = {}
        for row in rows:
            key = lookup.keys.get((row.symbol, row.strategy))
            result = result_of(row)
            if key is not None and result is not None:
                results[key] = result
        return self.cache.store(KIND, results) if results else 0


def uncached(row: ScanRow) -> ScanRow:
    """The row as a fresh run gives it (for comparing a cached row with one)."""
    return replace(row, cached=False)


@contextmanager
def open_scan_cache(settings: Settings, read: bool = True) -> Iterator[ScanCache]:
    """The configuration's backtest cache, its expired entries deleted first."""
    with open_cache(settings) as cache:
        cache.expire()
        yield ScanCache(cache, read=read)
