"""The worker processes: results in order, and failures that stop the comparison."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import backtrader as bt
import pytest

from tradd.errors import TraddError
from tradd.marketdata.store import DataStore
from tradd.research.broker import BrokerConfig
from tradd.research.compare.runner import CompareRequest, prepare, run_all
from tradd.research.setup import ResearchInputs

SMA = "strategies.sma_cross.SmaCross"
HERE = "tests.research.compare.test_runner"


class Exploding(bt.Strategy):  # type: ignore[misc]
    def next(self) -> None:
        raise RuntimeError("bad strategy")


class Vanishing(bt.Strategy):  # type: ignore[misc]
    def next(self) -> None:
        os._exit(3)  # a crash that leaves no result and no traceback


def _run(data_dir: Path, *paths: str) -> list[str]:
    inputs = ResearchInputs(
        paths[0], ("GOOG",), date(2011, 1, 1), date(2011, 12, 31), "1d", BrokerConfig()
    )
    prepared = prepare(CompareRequest(inputs, paths), DataStore(data_dir))
    return [run.contender.label for run in run_all(prepared, inputs, workers=2)]


def test_results_come_back_in_the_given_order(data_dir: Path) -> None:
    labels = _run(
        data_dir, SMA, "strategies.rsi.RsiReversion", "strategies.breakout.DonchianBreakout"
    )
    assert labels == ["SmaCross", "RsiReversion", "DonchianBreakout"]


def test_a_strategy_that_raises_stops_the_comparison_naming_it(data_dir: Path) -> None:
    with pytest.raises(TraddError, match=rf"{HERE}.Exploding: backtest failed: .*bad strategy"):
        _run(data_dir, SMA, f"{HERE}.Exploding")


def test_a_worker_that_dies_is_reported(data_dir: Path) -> None:
    with pytest.raises(TraddError, match="Vanishing: backtest failed: .*exit code 3"):
        _run(data_dir, f"{HERE}.Vanishing", SMA)
