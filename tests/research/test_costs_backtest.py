"""Costs and multipliers in real backtests: a Eurex future's P&L, value and size count its
multiplier of 10, and a forex backtest pays IB's forex schedule, not stock commissions."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import backtrader as bt
import pytest

from tradd.marketdata.contracts import load_definitions
from tradd.marketdata.store import DataStore
from tradd.research.broker import BrokerConfig
from tradd.research.costs import costs_for
from tradd.research.engine import BacktestEngine

from ..conftest import RunCli

HERE = "tests.research.test_costs_backtest.TradeOnce"
SAMPLE = Path(__file__).resolve().parents[2] / "tradd" / "sample_data"
FUT_OPENS = [3500, 3510, 3530, 3545, 3555, 3575, 3570, 3565, 3560, 3555, 3550, 3545]
FUT_CLOSES = [3510, 3520, 3540, 3550, 3560, 3570, 3565, 3560, 3555, 3550, 3545, 3540]
FX_OPENS = [1.09, 1.095, 1.10, 1.105, 1.11, 1.12, 1.115, 1.11, 1.105, 1.10, 1.095, 1.09]


class TradeOnce(bt.Strategy):  # type: ignore[misc]
    """Enter on bar `enter` (fill: next open), close on bar `leave`; `size` 0: the sizer's,
    negative: short. `size2`: a second round trip from bar leave + 1 to leave + 3."""

    params = (("size", 0), ("enter", 2), ("leave", 5), ("size2", 0))

    def next(self) -> None:
        bar, p = len(self), self.p
        for size, enter, leave in ((p.size, p.enter, p.leave), (p.size2, p.leave + 1, p.leave + 3)):
            if bar == enter and (size or enter == p.enter):
                self.sell(size=-size) if size < 0 else self.buy(size=size or None)
            elif bar == leave and self.position:
                self.close()


def _write(directory: Path, symbol: str, opens: list[float], closes: list[float]) -> None:
    day, rows = date(2006, 1, 2), ["datetime,open,high,low,close,volume"]
    for o, c in zip(opens, closes, strict=True):
        rows.append(f"{day}T00:00:00,{o},{max(o, c) * 1.001},{min(o, c) * 0.999},{c},0")
        day += timedelta(days=3 if day.weekday() == 4 else 1)
    (directory / f"{symbol}.1d.csv").write_text("\n".join(rows) + "\n")


@pytest.fixture
def fut_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "data"
    directory.mkdir()
    (directory / "contracts.toml").write_text((SAMPLE / "contracts.toml").read_text())
    _write(directory, "IDXFUT", [float(v) for v in FUT_OPENS], [float(v) for v in FUT_CLOSES])
    return directory


def _future_run(directory: Path, size: int) -> tuple[list[float], float]:
    store = DataStore(directory)
    bars = [store.load("IDXFUT", "1d", None, None)]
    costs = costs_for(["IDXFUT"], BrokerConfig().rates, load_definitions(directory))
    engine = BacktestEngine(TradeOnce, bars, BrokerConfig(), costs=costs)
    result = engine.run({"size": size})
    return list(result.equity), result.final_value


@pytest.mark.parametrize("size", [2, -2])
def test_a_future_counts_its_multiplier_in_pnl_and_value(fut_dir: Path, size: int) -> None:
    """Entry at bar 2's open (3530), exit at bar 5's open (3575), EUR 1 a contract a side."""
    equity, final = _future_run(fut_dir, size)
    move = (FUT_OPENS[5] - FUT_OPENS[2]) * size * 10  # +-900
    assert final == pytest.approx(100_000 + move - 2 * 2 * 1.00)
    # While open the position is marked at the close, x 10: bar 3 closes at 3550.
    assert equity[3] == pytest.approx(100_000 - 2.00 + (FUT_CLOSES[3] - FUT_OPENS[2]) * size * 10)
    assert equity[2] == pytest.approx(100_000 - 2.00 + (FUT_CLOSES[2] - FUT_OPENS[2]) * size * 10)


def test_backtest_cli_sizes_and_charges_a_future_by_its_multiplier(
    run_cli: RunCli, fut_dir: Path, tmp_path: Path
) -> None:
    """The sizer buys 95% of 100,000 in contracts worth 3520 x 10: 2, not 26."""
    out = tmp_path / "bt"
    result = run_cli("backtest", "--strategy", HERE, "--symbols", "IDXFUT",
                     "--output", str(out), "--data-dir", str(fut_dir))  # fmt: skip
    assert result.code == 0, result.stderr
    document = json.loads((out / "result.json").read_text())
    (trade,) = document["trades"]
    assert trade["pnl"] == pytest.approx((3575 - 3530) * 2 * 10)
    assert trade["pnl_net"] == pytest.approx(900 - 4 * 1.00)
    assert document["metrics"]["final_value"] == pytest.approx(100_896.0)


def test_forex_backtest_pays_the_forex_schedule(run_cli: RunCli, tmp_path: Path) -> None:
    """10,000,000 EUR in at 1.10 and out at 1.12 (0.2 bp: 220 + 224), then 20,000 in at 1.115
    and out at 1.105 (the USD 2 minimum twice): 448 in all. Stock rates would charge 50,000
    a side for the large trade."""
    directory = tmp_path / "data"
    directory.mkdir()
    _write(directory, "EURUSD", FX_OPENS, [*FX_OPENS[1:], 1.09])
    out = tmp_path / "bt"
    result = run_cli("backtest", "--strategy", HERE, "--symbols", "EURUSD",
                     "--param", "size=10000000", "--param", "size2=20000",
                     "--cash", "20000000", "--output", str(out),
                     "--data-dir", str(directory))  # fmt: skip
    assert result.code == 0, result.stderr
    trades = json.loads((out / "result.json").read_text())["trades"]
    assert len(trades) == 2
    paid = [t["pnl"] - t["pnl_net"] for t in trades]
    assert paid == pytest.approx([220.0 + 224.0, 2.0 + 2.0])
    assert trades[0]["pnl"] == pytest.approx((1.12 - 1.10) * 10_000_000)
