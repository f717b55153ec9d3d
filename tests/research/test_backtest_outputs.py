"""`tradd backtest` writes trades a trader can check, and its piped output is whole."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tradd.research.trades import TRADE_COLUMNS

from ..conftest import RunCli

PIPED = {"COLUMNS": ""}
"""No COLUMNS: rich sizes the console as it would for `tradd ... | less`."""


def test_trades_csv_and_result_json_agree_with_the_data_and_the_equity(
    run_cli: RunCli, data_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "bt"
    result = run_cli(
        "backtest", "--strategy", "tests.research.trade_strategies.Flipper",
        "--symbols", "GOOG", "ORCL", "--start", "2006-01-01", "--end", "2006-12-31",
        "--param", "unit=10", "--cash", "50000",
        "--output", str(out), "--data-dir", str(data_dir), env=PIPED,
    )  # fmt: skip
    assert result.code == 0, result.stderr
    document = json.loads((out / "result.json").read_text())
    trades = document["trades"]
    with (out / "trades.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == list(TRADE_COLUMNS)
    assert len(rows) == len(trades) == document["metrics"]["total_trades"] > 10
    assert {t["direction"] for t in trades} == {"long", "short"}
    closes = {}
    for symbol in ("GOOG", "ORCL"):
        frame = pd.read_csv(data_dir / f"{symbol}.1d.csv", index_col=0, parse_dates=True)
        closes[symbol] = set(frame.index.to_numpy().astype("datetime64[s]").tolist())
    for row, trade in zip(rows, trades, strict=True):
        assert row["symbol"] == trade["symbol"] and float(row["pnl_net"]) == trade["pnl_net"]
        for stamp in (trade["entry_time"], trade["exit_time"]):
            assert np.datetime64(stamp, "s").tolist() in closes[trade["symbol"]]
        sign = 1 if trade["direction"] == "long" else -1
        move = (trade["exit_price"] - trade["entry_price"]) * sign
        assert move * trade["size"] * trade["multiplier"] == pytest.approx(trade["pnl"], abs=0.01)
    booked = sum(t["pnl_net"] for t in trades + document["open_trades"])
    assert booked == pytest.approx(document["metrics"]["final_value"] - 50_000, abs=0.01)
    assert "trades.csv" in result.stdout and "│ Sharpe " in result.stdout


def test_report_console_is_wide_when_piped(capsys: pytest.CaptureFixture[str]) -> None:
    """The one console every research table prints on (backtest, optimize, walkforward,
    compare, scan, runs): a wide table comes out whole on a pipe."""
    from rich.table import Table

    from tradd.cli.common import PIPED_WIDTH, report_console

    console = report_console()
    assert console.width == PIPED_WIDTH
    table = Table(*(f"column number {i}" for i in range(8)))
    table.add_row(*(f"value {i}" for i in range(8)))
    console.print(table)
    assert "column number 7" in capsys.readouterr().out
