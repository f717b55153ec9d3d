"""A monthly file end to end: imported as 1mo, backtested, Sharpe annualised by 12."""

from __future__ import annotations

import json
import math
from pathlib import Path

import empyrical
import numpy as np

from tradd.config.settings import BacktestSettings
from tradd.marketdata.store import DataStore
from tradd.research.broker import BrokerConfig
from tradd.research.engine import BacktestEngine
from tradd.strategy_loader import load_strategy

from ..conftest import SAMPLE_DATA, RunCli

STRATEGY = "strategies.sma_cross.SmaCross"
PARAMS = {"fast": 3, "slow": 8, "threshold": 0.0}


def monthly_from_daily(source: Path, target: Path) -> int:
    """One bar a month from daily bars, dated the month's last trading day."""
    daily = DataStore(SAMPLE_DATA).load(source.name.split(".")[0], "1d")
    months = daily.time.astype("datetime64[M]")
    rows = []
    for month in np.unique(months):
        i = np.flatnonzero(months == month)
        values = (daily.open[i[0]], daily.high[i].max(), daily.low[i].min(),
                  daily.close[i[-1]], daily.volume[i].sum())  # fmt: skip
        day = daily.time[i[-1]].astype("datetime64[D]")
        rows.append(",".join([str(day), *(repr(float(v)) for v in values)]))
    target.write_text("Date,Open,High,Low,Close,Volume\n" + "\n".join(rows) + "\n")
    return len(rows)


def test_monthly_file_is_imported_as_1mo_and_its_sharpe_uses_12_periods(
    run_cli: RunCli, tmp_path: Path
) -> None:
    source = tmp_path / "GOOG.monthly.csv"
    months = monthly_from_daily(SAMPLE_DATA / "GOOG.1d.csv", source)
    data = tmp_path / "data"
    config = tmp_path / "tradd.toml"
    config.write_text(f'[data]\ndir = "{data}"\n')  # default costs, as BacktestSettings()
    imported = run_cli("data", "import", str(source), "--symbol", "GOOG", "--config", str(config))
    assert imported.code == 0, imported.stderr
    assert imported.stdout.startswith(f"GOOG 1mo: read {months} rows")
    assert (data / "GOOG.1mo.csv").is_file()

    out = tmp_path / "bt"
    params = [f"--param={k}={v}" for k, v in PARAMS.items()]
    result = run_cli("backtest", "--strategy", STRATEGY, "--symbols", "GOOG", "--bar", "1mo",
                     *params, "--output", str(out), "--config", str(config))  # fmt: skip
    assert result.code == 0, result.stderr
    document = json.loads((out / "result.json").read_text())
    assert document["basis"]["periods_per_year"] == 12.0
    assert "data_gaps" in document and document["data_gaps"] == {}  # no session check

    # the same run in-process: its equity, one value a month, gives the returns
    broker = BrokerConfig.from_settings(BacktestSettings())
    engine = BacktestEngine(load_strategy(STRATEGY), [DataStore(data).load("GOOG", "1mo")], broker)
    equity = engine.run(PARAMS).equity
    assert len(equity) == months and document["metrics"]["total_trades"] > 0
    closes = np.concatenate([[broker.cash], equity])
    returns = np.diff(closes) / closes[:-1]
    sharpe = document["metrics"]["sharpe"]
    assert math.isclose(sharpe, empyrical.sharpe_ratio(returns, annualization=12), rel_tol=1e-9)
    assert math.isclose(sharpe, returns.mean() / returns.std(ddof=1) * math.sqrt(12), rel_tol=1e-9)
