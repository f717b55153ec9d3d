"""`tradd backtest`: one strategy, one parameter set, a report on disk."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tradd.config.risk import RiskSettings
from tradd.errors import UsageError
from tradd.marketdata.bars import FloatArray, TimeArray
from tradd.marketdata.gaps import gap_warning, run_gaps
from tradd.marketdata.store import DataStore
from tradd.research.buy_hold import buy_and_hold
from tradd.research.engine import BacktestEngine, RunResult
from tradd.research.metrics import Metrics, run_metrics
from tradd.research.params import parse_fixed_params
from tradd.research.plots import equity_png
from tradd.research.riskbroker import RiskBroker
from tradd.research.run_settings import WarmupInfo
from tradd.research.series import (
    EQUITY_FILE,
    RETURNS_FILE,
    write_equity_csv,
    write_returns_csv,
)
from tradd.research.setup import LoadedInputs, ResearchInputs, load_inputs, settings_of
from tradd.research.trades import TRADES_FILE, write_trades_csv
from tradd.research.warmup import measured, needed_bars, with_warmup
from tradd.strategy_loader import full_params, invalid_reason, param_defaults


@dataclass(frozen=True)
class BacktestReport:
    params: dict[str, Any]
    metrics: Metrics
    result_path: Path
    chart_path: Path
    risk_counts: dict[str, int] | None = None
    """With `risk`: blocked, resized, alerts and closes by the risk gate."""
    gap_warnings: tuple[str, ...] = ()
    """One line per symbol whose bars miss sessions of its calendar (also in result.json)."""
    warmup: WarmupInfo | None = None
    trades_path: Path | None = None


def run_backtest(
    inputs: ResearchInputs,
    param_args: list[str],
    output: Path,
    store: DataStore,
    risk: RiskSettings | None = None,
) -> BacktestReport:
    """Run and report; with `risk`, every order also passes the live risk gate."""
    loaded = load_inputs(inputs, store)
    gaps = run_gaps(loaded.bars, loaded.calendars)
    params = full_params(
        loaded.strategy, parse_fixed_params(param_defaults(loaded.strategy), param_args)
    )
    reason = invalid_reason(loaded.strategy, params)
    if reason:
        raise UsageError(f"--param: invalid combination {params}: {reason}")
    loaded = with_warmup(loaded, needed_bars(loaded.strategy, loaded.bars, params))
    risk_broker = RiskBroker(risk) if risk is not None else None
    engine = BacktestEngine(
        loaded.strategy,
        loaded.bars,
        inputs.broker,
        backtrader_broker=risk_broker,
        costs=loaded.costs,
        trade_from=loaded.measured_from,
    )
    result = engine.run(params, records=True)
    clock, equity = measured(engine.clock, result.equity, loaded.measured_from)
    metrics = run_metrics(
        result, equity, clock, initial_cash=inputs.broker.cash, symbols=len(loaded.bars),
        risk_free_rate=inputs.risk_free_rate, basis=loaded.basis,
    )  # fmt: skip
    output.mkdir(parents=True, exist_ok=True)
    result_path = output / "result.json"
    chart_path = output / "equity.png"
    document = {
        "strategy": inputs.strategy_path,
        "symbols": [b.symbol for b in loaded.bars],
        "bar": inputs.bar,
        "start": str(clock[0].astype("datetime64[D]")),
        "end": str(clock[-1].astype("datetime64[D]")),
        "bars": len(clock),
        "params": params,
        "broker": vars(inputs.broker),
        "basis": loaded.basis.as_dict(),
        "settings": settings_of(loaded, loaded.warmup).as_dict(),
        "metrics": metrics.as_dict(),
        "files": {
            "equity_csv": EQUITY_FILE,
            "returns_csv": RETURNS_FILE,
            "trades_csv": TRADES_FILE,
        },
        "trades": [t.as_dict() for t in result.records],
        "open_trades": [t.as_dict() for t in result.open_records],
        "data_gaps": {symbol: g.as_dict() for symbol, g in gaps.items()},
        "warmup": asdict(loaded.warmup) if loaded.warmup else None,
    }
    if risk_broker is not None:
        document["risk"] = risk_broker.report()
    result_path.write_text(json.dumps(document, indent=2) + "\n")
    write_equity_csv(output / EQUITY_FILE, clock, equity)
    write_returns_csv(output / RETURNS_FILE, clock, equity, inputs.broker.cash, loaded.basis)
    trades_path = output / TRADES_FILE
    write_trades_csv(trades_path, result.records)
    _chart(chart_path, inputs, loaded, (clock, equity), result, document)
    counts = risk_broker.counts if risk_broker is not None else None
    warnings = tuple(w for s, g in gaps.items() if (w := gap_warning(s, g)) is not None)
    return BacktestReport(
        params, metrics, result_path, chart_path, counts, warnings, loaded.warmup, trades_path
    )


def _chart(
    path: Path,
    inputs: ResearchInputs,
    loaded: LoadedInputs,
    curve: tuple[TimeArray, FloatArray],
    result: RunResult,
    document: dict[str, Any],
) -> None:
    """equity.png: the measured curve with its trades, buy and hold from the same first
    bar, parameters and period."""
    clock, equity = curve
    symbols = ", ".join(b.symbol for b in loaded.bars)
    settings = ", ".join(f"{name}={value}" for name, value in document["params"].items())
    title = (
        f"{inputs.strategy_path.rsplit('.', 1)[-1]} on {symbols}, "
        f"{document['start']} .. {document['end']}\n{settings}"
    )
    cash = inputs.broker.cash
    measured_bars = [
        b.take(slice(int(np.searchsorted(b.time, clock[0])), None)) for b in loaded.bars
    ]
    hold = buy_and_hold([b for b in measured_bars if len(b)], clock, cash)
    equity_png(path, clock, equity, title, cash, trades=result.records, buy_and_hold=hold)
