"""tradd's metrics against empyrical on the same series: daily, hourly and monthly bars.

Each case runs a real backtest (the engine on shipped or resampled sample data), then
rebuilds the period returns independently with pandas (last equity of each session, the
first against the initial cash) and hands them to empyrical with the run's periods a year.
Sharpe, Sortino, volatility, max drawdown and CAGR must agree to 1e-9 relative.

CAGR convention: tradd's is calendar based, (final / cash) ** (365.25 / days) - 1 with
`days` the span from the first to the last bar. empyrical's `cagr` counts years as
len(returns) / annualization, so it matches when annualization is
len(returns) * 365.25 / days; the hand formula is checked as well.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import Any

import empyrical
import numpy as np
import pandas as pd
import pytest

from strategies.sma_cross import SmaCross
from tradd.marketdata.contracts import ContractDefinitions
from tradd.marketdata.store import DataStore
from tradd.research.basis import basis_for, calendars_for
from tradd.research.broker import BrokerConfig
from tradd.research.engine import BacktestEngine
from tradd.research.metrics import Metrics, compute_metrics, period_returns
from tradd.research.series import period_end_times
from tradd.research.setup import LoadedInputs, ResearchInputs, load_inputs

from ..conftest import SAMPLE_DATA
from .conftest import Tradd

CASH = 100_000.0
REL = 1e-9
SMA = "strategies.sma_cross.SmaCross"


def _session_returns(
    equity: np.ndarray, clock: np.ndarray, shift_s: int = 0, cash: float = CASH
) -> pd.Series:
    """Independent of tradd: pandas groups the bars by session date (local time plus the
    session shift), keeps each session's last equity and chains simple returns."""
    stamps = pd.to_datetime(clock) + pd.Timedelta(seconds=shift_s)
    closes = pd.Series(equity, index=stamps).groupby(stamps.normalize()).last()
    chained = pd.concat([pd.Series([cash]), closes.reset_index(drop=True)])
    return chained.pct_change().dropna().reset_index(drop=True)


def _bar_returns(equity: np.ndarray, cash: float = CASH) -> pd.Series:
    curve = np.concatenate([[cash], equity])
    return pd.Series(np.diff(curve) / curve[:-1])


def _reference(
    equity: np.ndarray, clock: np.ndarray, periods: float, rf: float, shift_s: int = 0
) -> dict[str, float]:
    """empyrical's figures in tradd's units (percent where tradd reports percent)."""
    returns = _session_returns(equity, clock, shift_s)
    per_period = rf / periods
    days = (clock[-1] - clock[0]).astype("timedelta64[s]").astype(np.int64) / 86_400
    calendar = len(returns) * 365.25 / days
    return {
        "sharpe": empyrical.sharpe_ratio(returns, per_period, annualization=periods),
        "sortino": empyrical.sortino_ratio(returns, per_period, annualization=periods),
        "volatility": empyrical.annual_volatility(returns, annualization=periods) * 100,
        # drawdown is measured on every bar (the initial cash the first peak)
        "max_drawdown": -empyrical.max_drawdown(_bar_returns(equity)) * 100,
        "cagr": empyrical.cagr(returns, annualization=calendar) * 100,
        "cagr_by_hand": ((equity[-1] / CASH) ** (365.25 / days) - 1) * 100,
    }


def _check(metrics: Metrics, reference: dict[str, float]) -> None:
    got = metrics.as_dict()
    for name in ("sharpe", "sortino", "volatility", "max_drawdown", "cagr"):
        assert got[name] == pytest.approx(reference[name], rel=REL), name
        assert got[name] != 0, f"{name} is 0: the case proves nothing"
    assert got["cagr"] == pytest.approx(reference["cagr_by_hand"], rel=REL)


def _run(
    directory: Path, symbol: str, bar: str, params: dict[str, Any], rf: float = 0.0
) -> tuple[LoadedInputs, np.ndarray, np.ndarray, Metrics]:
    inputs = ResearchInputs(SMA, (symbol,), None, None, bar, BrokerConfig(cash=CASH), rf)
    loaded = load_inputs(inputs, DataStore(directory))
    engine = BacktestEngine(SmaCross, loaded.bars, inputs.broker)
    result = engine.run(params)
    metrics = compute_metrics(
        result.equity,
        engine.clock,
        result.trades,
        initial_cash=CASH,
        bars_in_market=result.bars_in_market,
        risk_free_rate=rf,
        basis=loaded.basis,
    )
    assert result.trades, "the case should trade"
    return loaded, engine.clock, result.equity, metrics


def _write_bars(path: Path, frame: pd.DataFrame) -> None:
    frame = frame.dropna()
    frame.index.name = "datetime"
    frame.to_csv(path, date_format="%Y-%m-%dT%H:%M:%S")


def _resampled(source: Path, rule: str, label: str = "left") -> pd.DataFrame:
    bars = pd.read_csv(source, parse_dates=["datetime"], index_col="datetime")
    how = {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
    return bars.resample(rule, label=label, closed=label).agg(how)  # type: ignore[arg-type]


def test_daily_stock_xnys_252_with_a_risk_free_rate(tmp_path: Path) -> None:
    loaded, clock, equity, metrics = _run(SAMPLE_DATA, "GOOG", "1d", {"fast": 10, "slow": 30}, 0.03)
    assert (loaded.basis.calendar, loaded.basis.periods_per_year) == ("XNYS", 252.0)
    _check(metrics, _reference(equity, clock, 252, 0.03))


def test_hourly_future_per_session_xeur_254(tmp_path: Path) -> None:
    """Hourly IDXFUT bars (from the 1m sample): one return per Eurex session, 254 a year."""
    shutil.copy(SAMPLE_DATA / "contracts.toml", tmp_path)
    _write_bars(tmp_path / "IDXFUT.1h.csv", _resampled(SAMPLE_DATA / "IDXFUT.1m.csv", "1h"))
    loaded, clock, equity, metrics = _run(tmp_path, "IDXFUT", "1h", {"fast": 5, "slow": 20})
    assert (loaded.basis.calendar, loaded.basis.periods_per_year) == ("XEUR", 254.0)
    sessions = len(np.unique(clock.astype("datetime64[D]")))
    assert len(period_returns(equity, clock, CASH, loaded.basis)) == sessions < len(clock) / 5
    _check(metrics, _reference(equity, clock, 254, 0.0))


def test_monthly_bars_12_a_year(tmp_path: Path) -> None:
    frame = _resampled(SAMPLE_DATA / "GOOG.1d.csv", "ME", label="right")
    _write_bars(tmp_path / "GOOG.1mo.csv", frame)
    loaded, clock, equity, metrics = _run(tmp_path, "GOOG", "1mo", {"fast": 3, "slow": 8}, 0.02)
    assert (loaded.basis.period, loaded.basis.periods_per_year) == ("month", 12.0)
    assert len(period_returns(equity, clock, CASH, loaded.basis)) == len(clock)
    _check(metrics, _reference(equity, clock, 12, 0.02))


def test_bitcoin_is_365_a_year_one_period_a_calendar_day() -> None:
    definitions = ContractDefinitions({})
    assert definitions.spec("BTCUSD").sec_type == "CRYPTO"
    basis = basis_for("1d", calendars_for(["BTCUSD"], definitions))
    assert (basis.calendar, basis.periods_per_year) == ("24/7", 365.0)
    clock = np.arange("2024-01-01", "2024-01-15", dtype="datetime64[D]").astype("datetime64[s]")
    equity = CASH * np.cumprod(np.linspace(1.001, 0.999, len(clock)))
    assert len(period_returns(equity, clock, CASH, basis)) == 14  # weekends included


def _read_series(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with path.open() as fh:
        rows = list(csv.reader(fh))[1:]
    stamps = np.array([r[0] for r in rows], dtype="datetime64[s]")
    return stamps, np.array([float(r[1]) for r in rows])


def test_backtest_cli_metrics_equal_empyrical_on_the_written_series(
    tradd: Tradd, tmp_path: Path
) -> None:
    """The user's path: result.json's figures come back from equity.csv and returns.csv."""
    out = tmp_path / "bt"
    code, stdout, err = tradd(
        "backtest", "--strategy", SMA, "--symbols", "GOOG", "--param", "fast=10",
        "--param", "slow=30", "--data-dir", str(SAMPLE_DATA), "--output", str(out),
    )  # fmt: skip
    assert code == 0, err
    document = json.loads((out / "result.json").read_text())
    metrics, settings = document["metrics"], document["settings"]
    assert "volatility" in stdout and f"{metrics['volatility']:.2f}%" in stdout
    clock, equity = _read_series(out / "equity.csv")
    assert len(clock) == document["bars"]
    ends, returns = _read_series(out / "returns.csv")
    recomputed = _session_returns(equity, clock, cash=settings["cash"])
    # the returns the figures use (pandas' b / a - 1 and tradd's (b - a) / a differ in the
    # last bit, hence approx)
    assert returns == pytest.approx(recomputed.to_numpy(), rel=1e-12, abs=1e-16)
    assert len(ends) == len(returns) and ends[-1] == clock[-1]
    periods, rf = settings["periods_per_year"], settings["risk_free_rate"]
    assert (settings["calendar"], periods) == ("XNYS", 252.0)
    from_files = {
        "sharpe": empyrical.sharpe_ratio(returns, rf / periods, annualization=periods),
        "sortino": empyrical.sortino_ratio(returns, rf / periods, annualization=periods),
        "volatility": empyrical.annual_volatility(returns, annualization=periods) * 100,
        "max_drawdown": -empyrical.max_drawdown(_bar_returns(equity, settings["cash"])) * 100,
    }
    for name, value in from_files.items():
        assert metrics[name] == pytest.approx(value, rel=REL), name
    assert metrics["final_value"] == equity[-1]


def _forex_week() -> pd.DataFrame:
    """EURUSD hourly, New York time, Wednesday 2024-01-03 to Tuesday 2024-01-09: the
    market closes Friday 17:00 and opens Sunday 17:15 (no 17:00 bar on weekdays)."""
    hours = pd.date_range("2024-01-03 00:00", "2024-01-09 16:00", freq="1h")
    weekday, hour = hours.day_of_week, hours.hour
    closed = (weekday == 5) | ((weekday == 4) & (hour >= 17)) | ((weekday == 6) & (hour < 18))
    hours = hours[~closed & ~((hour == 17) & (weekday < 5))]
    wave = 1.10 + 0.01 * np.sin(np.arange(len(hours)) / 6.0)
    return pd.DataFrame(
        {"open": wave, "high": wave + 0.001, "low": wave - 0.001, "close": wave, "volume": 0.0},
        index=hours,
    )


def test_forex_is_261_a_year_and_sunday_evening_belongs_to_monday(
    tradd: Tradd, tmp_path: Path
) -> None:
    data, out = tmp_path / "data", tmp_path / "fx"
    data.mkdir()
    frame = _forex_week()
    assert (frame.index.day_of_week == 6).sum() == 6  # Sunday 18:00-23:00 bars exist
    _write_bars(data / "EURUSD.1h.csv", frame)
    code, _, err = tradd(
        "backtest", "--strategy", SMA, "--symbols", "EURUSD", "--bar", "1h", "--param",
        "fast=3", "--param", "slow=8", "--data-dir", str(data), "--output", str(out),
    )  # fmt: skip
    assert code == 0, err
    settings = json.loads((out / "result.json").read_text())["settings"]
    assert (settings["calendar"], settings["periods_per_year"]) == ("24/5", 261.0)
    ends, _ = _read_series(out / "returns.csv")
    days = pd.to_datetime(ends)
    # Wed, Thu, Fri, then Monday's session (Sunday evening + Monday), Tuesday
    assert [d.day_name()[:3] for d in days] == ["Wed", "Thu", "Fri", "Mon", "Tue"]
    assert [d.hour for d in days] == [16] * 5  # each session's last bar (16:00-17:00)


def test_loaded_inputs_basis_is_what_compute_metrics_gets(tmp_path: Path) -> None:
    """A guard on the cases above: the sample's IDXFUT definition names no calendar, so the
    XEUR of the hourly case comes from its exchange (EUREX)."""
    loaded: LoadedInputs = load_inputs(
        ResearchInputs(SMA, ("IDXFUT",), None, None, "5m", BrokerConfig()), DataStore(SAMPLE_DATA)
    )
    assert loaded.definitions.spec("IDXFUT").calendar == ""
    assert loaded.basis.calendar == "XEUR"


@pytest.mark.parametrize("symbols", [["GOOG", "EURUSD"], ["EURUSD", "GOOG"]])
def test_a_stock_and_forex_run_dates_sessions_like_forex_whatever_the_order(
    symbols: list[str],
) -> None:
    """A run over a stock and a forex pair is annualised by forex's 261 sessions, so its
    periods must be forex sessions too: Sunday evening is part of Monday, whichever symbol
    comes first (the first symbol's dating made Sunday a sixth period of the week)."""
    basis = basis_for("1h", calendars_for(symbols, ContractDefinitions({})))
    assert basis.periods_per_year == 261.0
    clock = pd.DatetimeIndex(_forex_week().index).to_numpy().astype("datetime64[s]")
    ends = pd.to_datetime(period_end_times(clock, basis))
    assert [d.day_name()[:3] for d in ends] == ["Wed", "Thu", "Fri", "Mon", "Tue"]
