"""`tradd backtest`: one strategy, one parameter set, a report on disk."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tradd.config.risk import RiskSettings
from tradd.errors import UsageError
from tradd.marketdata.bars import TimeArray
from tradd.marketdata.store import DataStore
from tradd.research.buy_hold import buy_and_hold
from tradd.research.engine import BacktestEngine, RunResult
from tradd.research.metrics import Metrics, compute_metrics
from tradd.research.params import parse_fixed_params
from tradd.research.plots import equity_png
from tradd.research.riskbroker import RiskBroker
from tradd.research.setup import LoadedInputs, ResearchInputs, load_inputs
from tradd.research.trades import write_trades_csv
from tradd.strategy_loader import full_params, invalid_reason, param_defaults


@dataclass(frozen=True)
class BacktestReport:
    params: dict[str, Any]
    metrics: Metrics
    result_path: Path
    chart_path: Path
    risk_counts: dict[str, int] | None = None
    """With `risk`: blocked, resized, alerts and closes by the risk gate."""
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
    params = full_params(
        loaded.strategy, parse_fixed_params(param_defaults(loaded.strategy), param_args)
    )
    reason = invalid_reason(loaded.strategy, params)
    if reason:
        raise UsageError(f"--param: invalid combination {params}: {reason}")
    risk_broker = RiskBroker(risk) if risk is not None else None
    engine = BacktestEngine(
        loaded.strategy, loaded.bars, inputs.broker, backtrader_broker=risk_broker
    )
    result = engine.run(params, records=True)
    metrics = compute_metrics(
        result.equity,
        engine.clock,
        result.trades,
        initial_cash=inputs.broker.cash,
        bars_in_market=result.bars_in_market,
        symbols=len(loaded.bars),
        risk_free_rate=inputs.risk_free_rate,
        basis=loaded.basis,
    )
    output.mkdir(parents=True, exist_ok=True)
    result_path = output / "result.json"
    chart_path = output / "equity.png"
    document = {
        "strategy": inputs.strategy_path,
        "symbols": [b.symbol for b in loaded.bars],
        "bar": inputs.bar,
        "start": str(engine.clock[0].astype("datetime64[D]")),
        "end": str(engine.clock[-1].astype("datetime64[D]")),
        "bars": len(engine.clock),
        "params": params,
        "broker": vars(inputs.broker),
        "basis": loaded.basis.as_dict(),
        "metrics": metrics.as_dict(),
        "trades": [t.as_dict() for t in result.records],
        "open_trades": [t.as_dict() for t in result.open_records],
    }
    if risk_broker is not None:
        document["risk"] = risk_broker.report()
    result_path.write_text(json.dumps(document, indent=2) + "\n")
    trades_path = output / "trades.csv"
    write_trades_csv(trades_path, result.records)
    _chart(chart_path, inputs, loaded, engine.clock, result, document)
    counts = risk_broker.counts if risk_broker is not None else None
    return BacktestReport(params, metrics, result_path, chart_path, counts, trades_path)


def _chart(
    path: Path,
    inputs: ResearchInputs,
    loaded: LoadedInputs,
    clock: TimeArray,
    result: RunResult,
    document: dict[str, Any],
) -> None:
    """equity.png: the curve with its trades, buy and hold, parameters and period."""
    symbols = ", ".join(b.symbol for b in loaded.bars)
    settings = ", ".join(f"{name}={value}" for name, value in document["params"].items())
    title = (
        f"{inputs.strategy_path.rsplit('.', 1)[-1]} on {symbols}, "
        f"{document['start']} .. {document['end']}\n{settings}"
    )
    cash = inputs.broker.cash
    hold = buy_and_hold(loaded.bars, clock, cash)
    equity_png(path, clock, result.equity, title, cash, trades=result.records, buy_and_hold=hold)
