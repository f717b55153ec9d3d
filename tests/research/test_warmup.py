"""Warm-up before --start, and runs on too few bars (issue 17, items 4 and 5)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import backtrader as bt
import numpy as np
import pytest

from tradd.marketdata.bars import FloatArray, TimeArray
from tradd.marketdata.store import DataStore
from tradd.research.broker import BrokerConfig
from tradd.research.engine import BacktestEngine, NotEnoughBars, RunResult
from tradd.research.metrics import compute_metrics
from tradd.research.params import ParamRange
from tradd.research.setup import ResearchInputs, load_inputs
from tradd.research.warmup import measured, needed_bars, needed_for_space, with_warmup
from tradd.strategy_loader import load_strategy

from ..conftest import SAMPLE_DATA, CliResult, RunCli
from .conftest import run_main

SMA = "strategies.sma_cross.SmaCross"
START = date(2008, 1, 2)  # GOOG's 10-day average is above its 200-day one here
SLOW = {"fast": 10, "slow": 200, "threshold": 0.0}
SHORT_MESSAGE = (
    "SmaCross(fast=10, slow=30, threshold=0.0) needs at least 30 bars (its longest "
    "indicator warm-up); GOOG has 20 between 2005-01-03 and 2005-01-31"
)


@pytest.fixture
def tradd(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> RunCli:
    """`tradd ARGS` through the CLI's entry point, in this process (no interpreter start)."""
    for key, value in {"TRADD_LOG__DIR": str(tmp_path / "logs"),
                       "TRADD_STATE_DIR": str(tmp_path / "state"), "COLUMNS": "200"}.items():  # fmt: skip
        monkeypatch.setenv(key, value)
    return lambda *args: CliResult(*run_main(capsys, args))


def short_data(tmp_path: Path) -> Path:
    """GOOG's 20 bars of January 2005, alone in a data directory."""
    rows = (SAMPLE_DATA / "GOOG.1d.csv").read_text().splitlines()
    directory = tmp_path / "short"
    directory.mkdir()
    january = [r for r in rows if r.startswith("2005-01")]
    assert len(january) == 20
    (directory / "GOOG.1d.csv").write_text("\n".join([rows[0], *january]) + "\n")
    return directory


def reference(params: dict[str, Any], start: date) -> tuple[TimeArray, FloatArray, RunResult]:
    """A run over all of GOOG's data, trading from `start` and measured from it."""
    bars = DataStore(SAMPLE_DATA).load("GOOG", "1d")
    from_ = datetime.combine(start, datetime.min.time())
    engine = BacktestEngine(load_strategy(SMA), [bars], BrokerConfig(), trade_from=from_)
    result = engine.run(params)
    clock, equity = measured(engine.clock, result.equity, from_)
    return clock, equity, result


# --- too few bars ---------------------------------------------------------------------


def test_backtest_on_too_few_bars_says_what_is_needed_and_exits_65(
    tradd: RunCli, tmp_path: Path
) -> None:
    result = tradd(
        "backtest", "--strategy", SMA, "--symbols", "GOOG",
        "--data-dir", str(short_data(tmp_path)), "--output", str(tmp_path / "out"),
    )  # fmt: skip
    assert result.code == 65, result.stderr
    assert SHORT_MESSAGE in result.stderr
    assert "Traceback" not in result.stderr and "IndexError" not in result.stderr


def test_too_few_bars_is_refused_even_when_backtrader_does_not_fail() -> None:
    """A strategy that only waits (no indicator arrays to overrun) would run silently,
    never reaching `next`: a result that could not have traded."""

    class Waits(bt.Strategy):  # type: ignore[misc]
        def __init__(self) -> None:
            self.addminperiod(50)

    bars = DataStore(SAMPLE_DATA).load("GOOG", "1d").take(slice(0, 20))
    with pytest.raises(NotEnoughBars, match="Waits\\(\\) needs at least 50 bars.*GOOG has 20"):
        BacktestEngine(Waits, [bars], BrokerConfig()).run({})


def test_scan_rows_record_the_too_few_bars_message(tmp_path: Path) -> None:
    from tradd.research.scan.plan import ScanRequest
    from tradd.research.scan.runner import build_plan, run_scan

    request = ScanRequest(("GOOG",), (SMA,), date(2005, 1, 1), date(2005, 1, 31), "1d",
                          BrokerConfig(), tmp_path / "scan")  # fmt: skip
    (row,) = run_scan(build_plan(request, DataStore(short_data(tmp_path))), workers=1).rows
    assert row.error == SHORT_MESSAGE


def test_optimize_warns_of_failed_trials_and_records_them(tradd: RunCli, tmp_path: Path) -> None:
    out = tmp_path / "opt"
    result = tradd(
        "optimize", "--strategy", SMA, "--symbols", "GOOG", "--param", "fast=5",
        "--param", "slow=10,15,20,30,40", "--data-dir", str(short_data(tmp_path)),
        "--output", str(out), "--workers", "1", "--confirm", "3",
    )  # fmt: skip
    assert result.code == 0, result.stderr
    first = (
        "SmaCross(fast=5, slow=30, threshold=0.0) needs at least 30 bars (its longest "
        "indicator warm-up); GOOG has 20 between 2005-01-03 and 2005-01-31"
    )
    note = f"2 of 5 trials failed; first: {first}"
    assert f"warning: {note}" in " ".join(result.stdout.split())
    document = json.loads((out / "optimization.json").read_text())
    assert document["failed_trials"] == note
    assert {f["error"] for f in document["failures"]} == {first, first.replace("30", "40")}
    # The kernel failed on them too: they agree, the screen stands (no fallback).
    assert "not faithful" not in result.stderr
    assert document["screen"]["failed"] == 2 and document["screen"]["fallback"] is None


def test_walkforward_warns_of_failed_trials(tradd: RunCli, tmp_path: Path) -> None:
    """One-month in-sample windows (about 21 bars) cannot run a 30-bar average."""
    out = tmp_path / "wf"
    result = tradd(
        "walkforward", "--strategy", SMA, "--symbols", "GOOG", "--start", "2005-01-01",
        "--end", "2005-03-31", "--is-months", "1", "--oos-months", "1", "--param", "fast=5",
        "--param", "slow=10,30", "--data-dir", str(SAMPLE_DATA), "--output", str(out),
        "--workers", "1",
    )  # fmt: skip
    assert result.code == 0, result.stderr
    document = json.loads((out / "walkforward.json").read_text())
    windows = len(document["windows"])
    assert windows == 2
    note = document["failed_trials"]
    assert note.startswith(f"{windows} of {2 * windows} trials failed; first: ")
    assert "{'fast': 5, 'slow': 30}: SmaCross(fast=5, slow=30, threshold=0.0) needs at " in note
    assert "least 30 bars (its longest indicator warm-up); GOOG has 20 between 2005-01-03" in note
    assert f"warning: {note}" in " ".join(result.stdout.split())


# --- warm-up before --start ------------------------------------------------------------


def test_backtest_with_warmup_equals_a_run_started_earlier_measured_from_start(
    tradd: RunCli, tmp_path: Path
) -> None:
    """The acceptance test: trades, equity and metrics as a run over all the data that
    trades from --start and is measured from it (exact for simple moving averages)."""
    out = tmp_path / "bt"
    result = tradd(
        "backtest", "--strategy", SMA, "--symbols", "GOOG", "--start", str(START),
        "--param", "slow=200", "--data-dir", str(SAMPLE_DATA), "--output", str(out),
    )  # fmt: skip
    assert result.code == 0, result.stderr
    assert "warm-up: 199 bars before 2008-01-02 (enough)" in result.stdout
    document = json.loads((out / "result.json").read_text())
    clock, equity, ran = reference(SLOW, START)
    expected = compute_metrics(equity, clock, ran.trades, initial_cash=100_000.0,
                               bars_in_market=ran.bars_in_market)  # fmt: skip
    assert document["metrics"] == pytest.approx(expected.as_dict(), rel=0, abs=0)
    summary = [{k: t[k] for k in ("symbol", "pnl", "pnl_net", "bars")} for t in document["trades"]]
    assert summary == [vars(t) for t in ran.trades]
    assert (document["start"], document["bars"]) == ("2008-01-02", len(clock))
    assert document["warmup"] == {"requested": 199, "used": 199, "enough": True,
                                  "first_measured": "2008-01-02", "needed": 199}  # fmt: skip


def test_warmed_equity_curve_is_the_earlier_runs_from_start_and_trades_at_once() -> None:
    inputs = ResearchInputs(SMA, ("GOOG",), START, None, "1d", BrokerConfig())
    loaded = load_inputs(inputs, DataStore(SAMPLE_DATA))
    warmed = with_warmup(loaded, needed_bars(loaded.strategy, loaded.bars, SLOW))
    engine = BacktestEngine(warmed.strategy, warmed.bars, BrokerConfig(),
                            trade_from=warmed.measured_from)  # fmt: skip
    clock, equity = measured(engine.clock, engine.run(SLOW).equity, warmed.measured_from)
    ref_clock, ref_equity, _ = reference(SLOW, START)
    assert np.array_equal(clock, ref_clock) and np.array_equal(equity, ref_equity)
    # The order of the first measured bar fills at the second bar's open: in the market
    # from then on, where a cold run waits 199 bars for its average.
    assert equity[0] == 100_000.0 and equity[1] != 100_000.0
    cold = BacktestEngine(loaded.strategy, loaded.bars, BrokerConfig()).run(SLOW).equity
    assert np.all(cold[:199] == 100_000.0)


def test_a_short_warmup_is_reported_as_cold(tradd: RunCli, tmp_path: Path) -> None:
    out = tmp_path / "bt"
    result = tradd(
        "backtest", "--strategy", SMA, "--symbols", "GOOG", "--start", str(START),
        "--param", "slow=200", "--warmup", "40", "--data-dir", str(SAMPLE_DATA),
        "--output", str(out),
    )  # fmt: skip
    assert result.code == 0, result.stderr
    line = "warm-up: only 40 of 199 bars before 2008-01-02: the first measured bars ran cold"
    assert line in result.stdout
    warmup = json.loads((out / "result.json").read_text())["warmup"]
    assert (warmup["requested"], warmup["used"], warmup["enough"]) == (40, 40, False)


def test_warmup_zero_is_the_cold_run_of_the_clipped_data() -> None:
    inputs = ResearchInputs(SMA, ("GOOG",), START, None, "1d", BrokerConfig(), warmup=0)
    loaded = load_inputs(inputs, DataStore(SAMPLE_DATA))
    warmed = with_warmup(loaded, needed_bars(loaded.strategy, loaded.bars, SLOW))
    assert warmed.measured_from is None
    assert [len(b) for b in warmed.bars] == [len(b) for b in loaded.bars]
    assert warmed.warmup is not None and (warmed.warmup.used, warmed.warmup.enough) == (0, False)


def test_data_starting_after_start_warms_what_it_can() -> None:
    """--start before the data: nothing to warm up on, said so."""
    inputs = ResearchInputs(SMA, ("GOOG",), date(2004, 1, 1), None, "1d", BrokerConfig())
    loaded = load_inputs(inputs, DataStore(SAMPLE_DATA))
    warmed = with_warmup(loaded, 29)
    assert warmed.warmup is not None
    assert (warmed.warmup.used, warmed.warmup.enough) == (0, False)
    assert warmed.warmup.first_measured == "2004-08-19"


def test_warmup_option_is_checked(tradd: RunCli, tmp_path: Path) -> None:
    result = tradd(
        "backtest", "--strategy", SMA, "--symbols", "GOOG", "--warmup", "lots",
        "--data-dir", str(SAMPLE_DATA), "--output", str(tmp_path / "x"),
    )  # fmt: skip
    assert result.code == 2
    assert "--warmup 'lots': give a number of bars or 'auto'" in result.stderr


def test_an_optimizations_need_is_its_largest_periods() -> None:
    strategy = load_strategy(SMA)
    bars = [DataStore(SAMPLE_DATA).load("GOOG", "1d")]

    def space(fast: tuple[int, ...], slow: tuple[int, ...]) -> list[ParamRange]:
        return [ParamRange("fast", "int", fast, 1), ParamRange("slow", "int", slow, 1)]

    assert needed_for_space(strategy, bars, space((5, 20), (30, 120))) == 119
    # The corner fast=50, slow=40 is invalid (fast >= slow): the largest valid one counts.
    assert needed_for_space(strategy, bars, space((10, 50), (20, 40))) == 39
    listed = [ParamRange("fast", "choice", (10,)), ParamRange("slow", "choice", (120, 30, 60))]
    assert needed_for_space(strategy, bars, listed) == 119  # a list's greatest, wherever

    class Cursed(strategy):  # type: ignore[misc,valid-type]
        def __init__(self) -> None:
            super().__init__()
            if self.p.slow == 120:
                raise RuntimeError("cursed")

    # A set the strategy fails on is its trial's business; the others set the warm-up.
    assert needed_for_space(Cursed, bars, space((5, 20), (30, 120))) == 29


def test_optimize_trials_are_the_backtests_of_their_parameters(
    tradd: RunCli, tmp_path: Path
) -> None:
    """Warmed for the space's longest average (slow=60), each trial's metrics are those of
    a run over all the data measured from --start."""
    out = tmp_path / "opt"
    result = tradd(
        "optimize", "--strategy", SMA, "--symbols", "GOOG", "--start", str(START),
        "--end", "2010-12-31", "--param", "fast=10", "--param", "slow=30,60",
        "--data-dir", str(SAMPLE_DATA), "--output", str(out), "--workers", "1",
    )  # fmt: skip
    assert result.code == 0, result.stderr
    assert "warm-up: 59 bars before 2008-01-02 (enough)" in result.stdout
    document = json.loads((out / "optimization.json").read_text())
    assert document["warmup"]["used"] == 59 and document["start"] == "2008-01-02"
    store = DataStore(SAMPLE_DATA)
    bars = store.load("GOOG", "1d", None, date(2010, 12, 31))
    from_ = datetime.combine(START, datetime.min.time())
    engine = BacktestEngine(load_strategy(SMA), [bars], BrokerConfig(), trade_from=from_)
    for entry in document["top_10_results"]:
        run = engine.run({**entry["params"], "threshold": 0.0})
        clock, equity = measured(engine.clock, run.equity, from_)
        m = compute_metrics(equity, clock, run.trades, initial_cash=100_000.0,
                            bars_in_market=run.bars_in_market)  # fmt: skip
        assert entry["metrics"] == pytest.approx(m.as_dict(), rel=1e-12)


def test_compare_warms_each_strategy_for_its_own_need(tradd: RunCli, tmp_path: Path) -> None:
    out = tmp_path / "cmp" / "comparison.html"
    result = tradd(
        "compare", "--strategies", SMA, "strategies.breakout.DonchianBreakout",
        "--symbols", "GOOG", "--start", str(START), "--end", "2009-12-31",
        "--data-dir", str(SAMPLE_DATA), "--output", str(out), "--workers", "1",
    )  # fmt: skip
    assert result.code == 0, result.stderr
    document = json.loads(out.with_suffix(".json").read_text())
    used = {s["label"]: s["warmup"]["used"] for s in document["strategies"]}
    assert used == {"SmaCross": 29, "DonchianBreakout": 20}
    assert document["start"] == "2008-01-02"
    assert "SmaCross warm-up: 29 bars before 2008-01-02 (enough)" in result.stdout


def test_inputs_clip_as_before_and_keep_the_history() -> None:
    inputs = ResearchInputs(SMA, ("GOOG",), START, date(2008, 12, 31), "1d", BrokerConfig())
    loaded = load_inputs(inputs, DataStore(SAMPLE_DATA))
    (bars,), (history,) = loaded.bars, loaded.history
    assert bars.first.date() == START and history.first.date() == date(2004, 8, 19)
    assert history.last == bars.last
    with pytest.raises(Exception, match="no bars between 2030-01-01"):
        load_inputs(replace(inputs, start=date(2030, 1, 1), end=None), DataStore(SAMPLE_DATA))


def test_a_run_from_the_first_bar_says_there_was_no_earlier_data_not_that_it_ran_cold() -> None:
    from tradd.research.run_settings import WarmupInfo
    from tradd.research.warmup import warmup_line

    line = warmup_line(WarmupInfo(29, 0, False, "2004-08-19", 29))
    assert line.startswith("warm-up: none, the data begins at 2004-08-19")
    assert "first 29 measured bars fill the indicators" in line
    off = warmup_line(WarmupInfo(0, 0, False, "2013-01-02", 199))
    assert off.startswith("warm-up: off (--warmup 0): the first 199 measured bars from 2013-01-02")
    assert warmup_line(WarmupInfo(199, 40, False, "2008-01-02", 199)).startswith(
        "warm-up: only 40 of 199 bars before 2008-01-02"
    )
