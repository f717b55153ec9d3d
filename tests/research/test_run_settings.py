"""Every research output records what shaped it, and writes the series its figures come from.

Through the CLI (in this process): backtest, optimize, walk-forward, compare and scan each
write a `settings` object (research.run_settings); walk-forward and compare write the
period returns their Sharpe ratios use, and the figures are recomputed from those files.
"""

from __future__ import annotations

import csv
import json
import math
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tradd.marketdata.contracts import load_definitions
from tradd.marketdata.store import DataStore
from tradd.research.broker import BrokerConfig
from tradd.research.metrics import max_drawdown_pct, sharpe_ratio, sortino_ratio
from tradd.research.run_settings import commission_record
from tradd.research.scan.plan import Period, ScanPlan
from tradd.research.scan.runner import scan_settings

from ..conftest import SAMPLE_DATA
from .conftest import Tradd

SMA = "strategies.sma_cross.SmaCross"
RSI = "strategies.rsi.RsiReversion"
REL = 1e-9
STOCK_COMMISSION = {"scheme": "stock", "currency": "USD", "per_share": 0.005, "minimum": 1.0,
                    "max_pct": 1.0, "multiplier": 1.0}  # fmt: skip


def _columns(path: Path) -> dict[str, list[str]]:
    with path.open() as fh:
        rows = list(csv.DictReader(fh))
    return {key: [r[key] for r in rows] for key in rows[0]}


def _floats(values: list[str]) -> np.ndarray:
    return np.array([float(v) for v in values])


def _check_common(settings: dict[str, Any], symbols: list[str], position_pct: float) -> None:
    assert settings["position_pct"] == position_pct
    assert settings["cash"] == 100_000.0
    assert settings["commissions"] == dict.fromkeys(symbols, STOCK_COMMISSION)
    assert settings["multipliers"] == dict.fromkeys(symbols, 1.0)
    assert settings["risk_free_rate"] == 0.0
    assert "warmup" in settings


def test_backtest_records_the_future_multiplier_and_its_calendar(
    tradd: Tradd, tmp_path: Path
) -> None:
    out = tmp_path / "bt"
    code, _, err = tradd(
        "backtest", "--strategy", SMA, "--symbols", "IDXFUT", "--bar", "5m",
        "--data-dir", str(SAMPLE_DATA), "--output", str(out),
    )  # fmt: skip
    assert code == 0, err
    document = json.loads((out / "result.json").read_text())
    settings = document["settings"]
    assert settings["multipliers"] == {"IDXFUT": 10.0}
    assert (settings["calendar"], settings["periods_per_year"], settings["bar"]) == (
        "XEUR",
        254.0,
        "5m",
    )
    assert settings["basis"]["period"] == "session"
    assert settings["position_pct"] == 95.0
    assert document["files"] == {
        "equity_csv": "equity.csv",
        "returns_csv": "returns.csv",
        "trades_csv": "trades.csv",
    }
    equity = _columns(out / "equity.csv")
    assert len(equity["time"]) == document["bars"] == 2142
    returns = _floats(_columns(out / "returns.csv")["return"])
    m = document["metrics"]
    assert m["sharpe"] == pytest.approx(sharpe_ratio(returns, 0.0, 254), rel=REL)
    assert m["sortino"] == pytest.approx(sortino_ratio(returns, 0.0, 254), rel=REL)
    assert m["volatility"] == pytest.approx(returns.std(ddof=1) * math.sqrt(254) * 100, rel=REL)
    curve = _floats(equity["equity"])
    assert m["max_drawdown"] == pytest.approx(max_drawdown_pct(curve, 100_000.0), rel=REL)


def test_optimize_records_the_settings(tradd: Tradd, tmp_path: Path) -> None:
    out = tmp_path / "opt"
    code, _, err = tradd(
        "optimize", "--strategy", SMA, "--symbols", "GOOG", "--param", "fast=5,10",
        "--param", "slow=30", "--workers", "1", "--start", "2010-01-01",
        "--data-dir", str(SAMPLE_DATA), "--output", str(out),
    )  # fmt: skip
    assert code == 0, err
    settings = json.loads((out / "optimization.json").read_text())["settings"]
    _check_common(settings, ["GOOG"], 95.0)
    assert (settings["calendar"], settings["periods_per_year"]) == ("XNYS", 252.0)


def test_walkforward_writes_the_oos_returns_its_sharpe_uses(tradd: Tradd, tmp_path: Path) -> None:
    out = tmp_path / "wf"
    code, _, err = tradd(
        "walkforward", "--strategy", SMA, "--symbols", "ORCL", "--start", "2005-01-01",
        "--end", "2006-12-31", "--is-months", "12", "--oos-months", "6", "--param",
        "fast=10,20", "--param", "slow=50", "--workers", "1", "--data-dir", str(SAMPLE_DATA),
        "--output", str(out),
    )  # fmt: skip
    assert code == 0, err
    document = json.loads((out / "walkforward.json").read_text())
    _check_common(document["settings"], ["ORCL"], 95.0)
    assert document["files"]["oos_returns_csv"] == "oos_returns.csv"
    returns = _floats(_columns(out / "oos_returns.csv")["return"])
    curve = _floats(_columns(out / "oos_equity.csv")["equity"])
    summary = document["summary"]
    assert len(returns) == len(curve)  # daily bars: one period each
    assert summary["oos_sharpe"] == pytest.approx(sharpe_ratio(returns, 0.0, 252), rel=REL)
    assert summary["oos_sharpe"] != 0
    expected_dd = max_drawdown_pct(curve, 100_000.0)
    assert summary["oos_max_drawdown"] == pytest.approx(expected_dd, rel=REL)
    assert summary["oos_total_return"] == pytest.approx((curve[-1] / 1e5 - 1) * 100, rel=REL)


def test_compare_writes_each_strategys_returns(tradd: Tradd, tmp_path: Path) -> None:
    out = tmp_path / "cmp" / "comparison.html"
    code, stdout, err = tradd(
        "compare", "--strategies", SMA, RSI, "--symbols", "GOOG", "--start", "2010-01-01",
        "--workers", "1", "--data-dir", str(SAMPLE_DATA), "--output", str(out),
    )  # fmt: skip
    assert code == 0, err
    document = json.loads(out.with_suffix(".json").read_text())
    _check_common(document["settings"], ["GOOG"], 95.0)
    assert document["files"]["returns_csv"] == "comparison.returns.csv"
    assert "comparison.returns.csv" in stdout
    table = _columns(out.with_name("comparison.returns.csv"))
    assert list(table) == ["period_end", *(s["label"] for s in document["strategies"])]
    assert len(table["period_end"]) == document["days"]
    for entry in document["strategies"]:
        returns = _floats(table[entry["label"]])
        m = entry["metrics"]
        assert m["sharpe"] == pytest.approx(sharpe_ratio(returns, 0.0, 252), rel=REL)
        assert m["sortino"] == pytest.approx(sortino_ratio(returns, 0.0, 252), rel=REL)


@pytest.mark.parametrize(("sizing", "expected"), [((), 10.0), (("--max-position-pct", "25"), 25.0)])
def test_scan_records_its_own_position_size(
    tradd: Tradd, tmp_path: Path, sizing: tuple[str, ...], expected: float
) -> None:
    """A scan sizes entries at 10% by default (a backtest at 95%): scan.json says so."""
    out = tmp_path / "scan"
    code, _, err = tradd(
        "scan", "--symbols", "GOOG", "--strategies", SMA, "--workers", "1", *sizing,
        "--data-dir", str(SAMPLE_DATA), "--output", str(out),
    )  # fmt: skip
    assert code == 0, err
    settings = json.loads((out / "scan.json").read_text())["settings"]
    _check_common(settings, ["GOOG"], expected)
    assert (settings["calendar"], settings["periods_per_year"]) == ("XNYS", 252.0)
    assert settings["bases"]["GOOG"]["periods_per_year"] == 252.0


def test_scan_settings_name_each_symbols_basis_when_they_differ(tmp_path: Path) -> None:
    shutil.copy(SAMPLE_DATA / "contracts.toml", tmp_path)
    broker = BrokerConfig(position_pct=10.0)
    plan = ScanPlan(
        ("GOOG", "IDXFUT"), (), Period(date(2006, 1, 2), date(2006, 1, 2)), "1d",
        broker, DataStore(tmp_path), 0.0, load_definitions(tmp_path),
    )  # fmt: skip
    record = scan_settings(plan)
    assert (record["basis"], record["calendar"], record["periods_per_year"]) == (None,) * 3
    assert {s: b["calendar"] for s, b in record["bases"].items()} == {
        "GOOG": "XNYS",
        "IDXFUT": "XEUR",
    }
    assert record["multipliers"] == {"GOOG": 1.0, "IDXFUT": 10.0}
    assert record["commissions"] == commission_record(broker, ["GOOG", "IDXFUT"], plan.definitions)
    assert record["commissions"]["IDXFUT"]["scheme"] == "futures"
    assert record["position_pct"] == 10.0


def test_scan_with_an_unknown_calendar_stops_before_any_backtest(
    tradd: Tradd, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(SAMPLE_DATA / "GOOG.1d.csv", data)
    (data / "contracts.toml").write_text('[GOOG]\ncalendar = "NOPE"\n')
    code, _, err = tradd(
        "scan", "--symbols", "GOOG", "--strategies", SMA, "--workers", "1",
        "--data-dir", str(data), "--output", str(tmp_path / "scan"),
    )  # fmt: skip
    assert code == 78, err
    assert "GOOG.calendar: unknown calendar 'NOPE'" in err
    assert not (tmp_path / "scan" / "scan.json").exists()
