"""tradd's engine must give exactly what plain Backtrader gives."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import backtrader as bt
import pandas as pd
import pytest

from bench.plain_optstrategy import FinalValue
from bench.plain_optstrategy import run as plain_optstrategy
from tradd.marketdata.store import DataStore
from tradd.research.broker import BrokerConfig, configure_broker
from tradd.research.engine import BacktestEngine, StrategySkipped
from tradd.research.feed import make_feed
from tradd.strategy_loader import load_strategy

from ..conftest import SAMPLE_DATA

START, END = date(2006, 1, 1), date(2009, 12, 31)
CASES = [
    ("strategies.sma_cross.SmaCross", {"fast": 10, "slow": 40, "threshold": 0.01}),
    ("strategies.rsi.RsiReversion", {"period": 10, "oversold": 30.0, "overbought": 65.0}),
    ("strategies.breakout.DonchianBreakout", {"entry": 30, "exit": 10}),
]


def plain_run(strategy: type[bt.Strategy], feed: Any, params: dict[str, Any]) -> tuple[float, int]:
    cerebro = bt.Cerebro()
    cerebro.adddata(feed)
    configure_broker(cerebro, BrokerConfig())
    cerebro.addanalyzer(FinalValue, _name="final")
    cerebro.addanalyzer(bt.analyzers.TradeAnalyzer, _name="trades")
    cerebro.addstrategy(strategy, **params)
    result = cerebro.run()[0]
    closed = result.analyzers.trades.get_analysis().get("total", {}).get("closed", 0)
    return result.analyzers.final.get_analysis(), closed


@pytest.mark.parametrize(("path", "params"), CASES)
def test_array_feed_equals_pandas_data(path: str, params: dict[str, Any]) -> None:
    strategy = load_strategy(path)
    bars = DataStore(SAMPLE_DATA).load("ORCL", "1d", START, END)
    frame = pd.read_csv(SAMPLE_DATA / "ORCL.1d.csv", index_col=0, parse_dates=True)
    frame = frame.loc[str(START) : str(END)]
    expected = plain_run(strategy, bt.feeds.PandasData(dataname=frame), params)
    assert plain_run(strategy, make_feed(bars), params) == expected
    result = BacktestEngine(strategy, [bars], BrokerConfig()).run(params)
    assert (result.final_value, len(result.trades)) == expected
    assert expected[1] > 3  # the case really trades
    assert len(result.equity) == len(bars)


def test_engine_runs_are_independent() -> None:
    strategy = load_strategy("strategies.sma_cross.SmaCross")
    bars = DataStore(SAMPLE_DATA).load("GOOG", "1d", START, END)
    engine = BacktestEngine(strategy, [bars], BrokerConfig())
    first = engine.run({"fast": 10, "slow": 40})
    engine.run({"fast": 5, "slow": 20})
    assert engine.run({"fast": 10, "slow": 40}).final_value == first.final_value


def test_invalid_combination_is_skipped_like_optstrategy() -> None:
    strategy = load_strategy("strategies.sma_cross.SmaCross")
    bars = DataStore(SAMPLE_DATA).load("GOOG", "1d", START, END)
    with pytest.raises(StrategySkipped):
        BacktestEngine(strategy, [bars], BrokerConfig()).run({"fast": 40, "slow": 40})


def test_grid_cli_equals_plain_optstrategy(run_cli: Any, tmp_path: Path) -> None:
    """The acceptance test: same strategy, data and broker, same final value per combination."""
    import csv

    grid = {"fast": [5, 10, 20, 40], "slow": [20, 40, 60], "threshold": [0.0, 0.02]}
    plain = plain_optstrategy(
        str(SAMPLE_DATA / "GOOG.1d.csv"),
        "strategies.sma_cross.SmaCross",
        grid,
        maxcpus=2,
        start=str(START),
        end=str(END),
    )
    result = run_cli(
        "optimize",
        "--strategy",
        "strategies.sma_cross.SmaCross",
        "--symbols",
        "GOOG",
        "--start",
        str(START),
        "--end",
        str(END),
        "--method",
        "grid",
        "--param",
        "fast=5,10,20,40",
        "--param",
        "slow=20:60:20",
        "--param",
        "threshold=0,0.02",
        "--warmup",
        "0",  # plain optstrategy runs on the clipped bars, cold from the start
        "--output",
        str(tmp_path / "out"),
        "--data-dir",
        str(SAMPLE_DATA),
    )
    assert result.code == 0, result.stderr
    with (tmp_path / "out" / "results.csv").open() as fh:
        ours = {
            f"{r['fast']},{r['slow']},{float(r['threshold'])}": float(r["final_value"])
            for r in csv.DictReader(fh)
            if r["state"] == "complete"
        }
    assert len(plain) == 18  # 24 combinations, 6 with fast >= slow skipped by both
    assert ours == pytest.approx(plain, rel=0, abs=1e-9)
