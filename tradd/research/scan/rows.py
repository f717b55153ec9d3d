"""One scan row per (symbol, strategy): the backtest's metrics, composite score and rank.

A row that could not be computed (no data, a strategy that raised, parameters it
refuses) carries the error instead of numbers, so the scan reports it rather than
dropping it. Ranks are per symbol, best composite score first; failed rows are unranked.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import date
from typing import Any, Literal

import backtrader as bt
import numpy as np
import numpy.typing as npt

from tradd.marketdata.bars import Bars, TimeArray
from tradd.research.broker import BrokerConfig
from tradd.research.costs import CostScheme
from tradd.research.engine import BacktestEngine, RunResult, failure_text
from tradd.research.kernels.engine import KernelEngine, unfit_reason
from tradd.research.kernels.parity import mismatch
from tradd.research.metrics import US_DAILY, ReturnBasis, run_metrics
from tradd.research.scoring import composite_score
from tradd.research.warmup import Warmed, measured, needed_bars, warm
from tradd.strategy_loader import full_params, invalid_reason

ROW_KEYS = (
    "symbol", "strategy", "total_return", "sharpe", "max_drawdown", "win_rate",
    "total_trades", "composite_score", "rank", "error", "warmup_bars", "warmup_enough",
    "cached", "engine",
)  # fmt: skip
"""The columns of scan.csv and the first keys of each scan.json row (which adds `equity`)."""
JSON_ROW_KEYS = (*ROW_KEYS, "equity")
Engine = Literal["backtrader", "kernel"]
SCORED = ("total_return", "sharpe", "max_drawdown", "win_rate", "total_trades")


@dataclass(frozen=True)
class EquityCurve:
    """A backtest's account value at the close of each measured day (the last bar's value
    for intraday bars), in cents: what the console draws for a scan row. Kept per row
    (and in the backtest cache) so a chart never needs the backtest run again; a year of
    days is about 5 kB in scan.json."""

    dates: tuple[str, ...]
    """ISO days, ascending."""
    values: tuple[float, ...]


def daily_curve(clock: TimeArray, equity: npt.NDArray[np.float64]) -> EquityCurve | None:
    """The curve of a measured run (None when it has no bar or a value that is not
    finite: scan.json is strict JSON)."""
    if len(clock) == 0 or len(clock) != len(equity) or not np.isfinite(equity).all():
        return None
    days = clock.astype("datetime64[D]")
    last = np.flatnonzero(np.append(days[1:] != days[:-1], True))
    return EquityCurve(
        tuple(str(d) for d in days[last]), tuple(round(float(v), 2) for v in equity[last])
    )


@dataclass(frozen=True)
class ScanRow:
    symbol: str
    strategy: str
    """Dotted path of the strategy class."""
    total_return: float | None = None
    """Percent, like max_drawdown and win_rate."""
    sharpe: float | None = None
    max_drawdown: float | None = None
    win_rate: float | None = None
    total_trades: int | None = None
    composite_score: float | None = None
    rank: int | None = None
    error: str | None = None
    warmup_bars: int | None = None
    """Bars fed before the scan's start (the least of any symbol's); see research.warmup."""
    warmup_enough: bool | None = None
    """False: the data starts too late for the strategy's indicators to be warm at the start."""
    cached: bool = False
    """True: taken from the backtest cache (`tradd.research.scan.cached`), not run again."""
    engine: Engine = "backtrader"
    """Whose figures: `backtrader`, or `kernel` (screened by the strategy's vectorized
    kernel and not confirmed in Backtrader: `tradd.research.scan.staged`)."""
    equity: EquityCurve | None = None
    """The measured daily equity curve (successful rows); in scan.json, not in scan.csv."""
    kernel_mismatch: str | None = None
    """A confirmation whose kernel run differs from this Backtrader run: what differs
    (carried from the worker to the parent; not in scan.json)."""

    @property
    def failed(self) -> bool:
        return self.error is not None

    def as_dict(self) -> dict[str, Any]:
        document = asdict(self)
        del document["kernel_mismatch"]
        return document


def row_from_metrics(symbol: str, strategy: str, metrics: dict[str, float]) -> ScanRow:
    """A successful row; the score is exactly `tradd.research.scoring.composite_score`.

    Metrics that are not finite (an equity curve that reached zero) fail the row: a NaN
    score has no rank, and scan.json is strict JSON."""
    odd = {k: metrics[k] for k in SCORED if not math.isfinite(metrics[k])}
    if odd:
        return ScanRow(symbol, strategy, error=f"metrics that are not finite: {odd}")
    return ScanRow(
        symbol=symbol,
        strategy=strategy,
        total_return=metrics["total_return"],
        sharpe=metrics["sharpe"],
        max_drawdown=metrics["max_drawdown"],
        win_rate=metrics["win_rate"],
        total_trades=int(metrics["total_trades"]),
        composite_score=composite_score(
            metrics["total_return"],
            metrics["sharpe"],
            metrics["max_drawdown"],
            metrics["win_rate"],
            metrics["total_trades"],
        ),
    )


@dataclass(frozen=True)
class Prepared:
    """A row's run, ready: the strategy's default parameters and the warmed-up engine."""

    params: dict[str, Any]
    engine: BacktestEngine
    fed: Warmed


def prepare_row(
    symbol: str,
    path: str,
    strategy: type[bt.Strategy],
    bars: Bars,
    broker: BrokerConfig,
    start: date | None = None,
    costs: Mapping[str, CostScheme] | None = None,
) -> Prepared | ScanRow:
    """The run of `strategy` with its default parameters on one symbol's bars, or the
    failed row saying why it cannot run.

    `bars` may begin before `start`: as many of those as the strategy needs warm it up,
    and the row is measured from `start` (research.warmup)."""
    params = full_params(strategy, {})
    reason = invalid_reason(strategy, params)
    if reason:
        return ScanRow(symbol, path, error=f"default parameters {params} are invalid: {reason}")
    try:
        needed = needed_bars(strategy, [bars], params)
        fed = warm([bars], start, needed, needed)
        engine = BacktestEngine(strategy, fed.bars, broker, costs=costs, trade_from=fed.trade_from)
    except Exception as exc:  # one strategy's bug must not end the scan
        return ScanRow(symbol, path, error=failure_text(exc))
    return Prepared(params, engine, fed)


def measured_row(
    symbol: str,
    path: str,
    prepared: Prepared,
    result: RunResult,
    risk_free_rate: float,
    basis: ReturnBasis = US_DAILY,
) -> ScanRow:
    """The row of a finished run (Backtrader's or a kernel's: the same `RunResult`)."""
    engine, fed = prepared.engine, prepared.fed
    clock, equity = measured(engine.clock, result.equity, fed.trade_from)
    metrics = run_metrics(
        result, equity, clock, initial_cash=engine.broker.cash, symbols=1,
        risk_free_rate=risk_free_rate, basis=basis,
    )  # fmt: skip
    row = row_from_metrics(symbol, path, metrics.as_dict())
    curve = None if row.failed else daily_curve(clock, equity)
    return replace(row, warmup_bars=fed.info.used, warmup_enough=fed.info.enough, equity=curve)


def backtest_row(
    symbol: str,
    path: str,
    strategy: type[bt.Strategy],
    bars: Bars,
    broker: BrokerConfig,
    risk_free_rate: float,
    basis: ReturnBasis = US_DAILY,
    start: date | None = None,
    costs: Mapping[str, CostScheme] | None = None,
    check_kernel: bool = False,
) -> ScanRow:
    """Run `strategy` with its default parameters on one symbol's bars in Backtrader.

    `check_kernel` (a confirmation of the kernel's screen): the strategy's kernel runs
    too, and what differs from Backtrader's run is the row's `kernel_mismatch`."""
    prepared = prepare_row(symbol, path, strategy, bars, broker, start, costs)
    if isinstance(prepared, ScanRow):
        return prepared
    try:
        result = prepared.engine.run(prepared.params)
        row = measured_row(symbol, path, prepared, result, risk_free_rate, basis)
    except Exception as exc:  # one strategy's bug must not end the scan
        return ScanRow(symbol, path, error=failure_text(exc))
    if check_kernel:
        row = replace(row, kernel_mismatch=_kernel_differs(prepared, result))
    return row


def kernel_row(
    symbol: str,
    path: str,
    strategy: type[bt.Strategy],
    bars: Bars,
    broker: BrokerConfig,
    risk_free_rate: float,
    basis: ReturnBasis = US_DAILY,
    start: date | None = None,
    costs: Mapping[str, CostScheme] | None = None,
) -> ScanRow | None:
    """The row as the strategy's kernel computes it (`engine` "kernel"), or None when the
    kernel cannot stand in for Backtrader here (none, unfit, it failed, a failed row):
    that row then runs in Backtrader, which reports it."""
    prepared = prepare_row(symbol, path, strategy, bars, broker, start, costs)
    if isinstance(prepared, ScanRow):
        return None
    kernel = KernelEngine.for_engine(prepared.engine)
    if kernel is None:
        return None
    try:
        result = kernel.run(prepared.params)
        row = measured_row(symbol, path, prepared, result, risk_free_rate, basis)
    except Exception:  # Backtrader runs it and says what is wrong
        return None
    return None if row.failed else replace(row, engine="kernel")


def _kernel_differs(prepared: Prepared, result: RunResult) -> str | None:
    kernel = KernelEngine.for_engine(prepared.engine)
    if kernel is None:
        return f"the kernel cannot run here: {unfit_reason(prepared.engine)}"
    try:
        return mismatch(result, kernel.run(prepared.params))
    except Exception as exc:
        return f"the kernel failed: {failure_text(exc)}"


def rank_rows(rows: Iterable[ScanRow]) -> list[ScanRow]:
    """Rows (in their order) with `rank` set per symbol: 1 = highest composite score.

    Ties keep the order the strategies were given in, so ranks are always 1..n.
    """
    ordered = list(rows)
    ranks: dict[int, int] = {}
    for symbol in dict.fromkeys(r.symbol for r in ordered):
        scored = [(i, r) for i, r in enumerate(ordered) if r.symbol == symbol and not r.failed]
        scored.sort(key=lambda item: -(item[1].composite_score or 0.0))
        ranks.update({i: rank for rank, (i, _) in enumerate(scored, start=1)})
    return [replace(r, rank=ranks.get(i)) for i, r in enumerate(ordered)]


def best_by_symbol(rows: Sequence[ScanRow]) -> dict[str, ScanRow | None]:
    """The rank-1 row of each symbol, or None when every strategy failed on it."""
    best: dict[str, ScanRow | None] = {r.symbol: None for r in rows}
    for row in rows:
        if row.rank == 1:
            best[row.symbol] = row
    return best
