"""The return basis: periods a year and session dating from each symbol's calendar."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tradd.marketdata.calendars import calendar_for
from tradd.marketdata.contracts import ContractDefinitions, ContractSpec, default_spec
from tradd.research.basis import basis_for, calendars_for
from tradd.research.metrics import period_returns

SAMPLE = Path(__file__).resolve().parents[2] / "tradd" / "sample_data"


def test_each_market_gets_its_calendars_periods() -> None:
    definitions = ContractDefinitions({})
    assert basis_for("1d", calendars_for(["GOOG"], definitions)).periods_per_year == 252
    assert basis_for("1h", calendars_for(["EURUSD"], definitions)).periods_per_year == 261
    assert basis_for("1d", calendars_for(["BTCUSD"], definitions)).periods_per_year == 365
    fut = ContractSpec(symbol="FX1", sec_type="FUT", exchange="EUREX", time_zone="MET")
    assert calendar_for(fut).name == "XEUR"


def test_weekly_and_monthly_bars_are_one_period_each_whatever_the_calendar() -> None:
    calendars = calendars_for(["BTCUSD"], ContractDefinitions({}))
    assert basis_for("1w", calendars).periods_per_year == 52
    assert basis_for("1mo", calendars).periods_per_year == 12
    assert basis_for("1mo", calendars).period == "month"


def test_a_definition_overrides_the_periods_and_the_calendar() -> None:
    spec = ContractSpec(symbol="ODD", calendar="24/7", periods_per_year=300)
    definitions = ContractDefinitions({"ODD": spec})
    basis = basis_for("1d", calendars_for(["ODD"], definitions))
    assert (basis.periods_per_year, basis.calendar) == (300, "24/7")


def test_mixed_calendars_take_the_busiest_count() -> None:
    basis = basis_for("1d", calendars_for(["GOOG", "BTCUSD"], ContractDefinitions({})))
    assert basis.periods_per_year == 365
    assert basis.calendar == "XNYS+24/7"


def test_forex_sunday_evening_belongs_to_mondays_session() -> None:
    """Without session dating, Sunday's evening bars would be a sixth 'day' each week
    (about 312 periods a year on a 261 basis)."""
    basis = basis_for("1h", calendars_for(["EURUSD"], ContractDefinitions({})))
    clock = np.array(
        ["2024-01-07T18:00", "2024-01-07T23:00", "2024-01-08T03:00", "2024-01-08T16:00",
         "2024-01-08T18:00", "2024-01-09T16:00"],
        dtype="datetime64[s]",
    )  # fmt: skip
    equity = np.array([100.0, 101, 102, 103, 104, 105])
    returns = period_returns(equity, clock, 100.0, basis)
    assert returns.tolist() == pytest.approx([0.03, 2 / 103])


def test_the_sample_future_is_on_eurex() -> None:
    from tradd.marketdata.contracts import load_definitions

    spec = load_definitions(SAMPLE).spec("IDXFUT")
    assert calendar_for(spec).name == "XEUR"
    assert calendar_for(default_spec("GOOG")).name == "XNYS"
