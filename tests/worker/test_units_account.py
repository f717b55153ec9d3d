"""`AccountState`: IB's tagged account values, and the equity baselines risk rules use."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

import pytest

from tradd.worker.account import AccountState, Baselines

EMPTY = Baselines(None, None, None)
# 2024-03-11 is EDT (UTC-4): the exchange-local day changes at 04:00 UTC.
MON_1500 = datetime(2024, 3, 11, 15, 0, tzinfo=UTC)


def utc(d: int, h: int, m: int = 0) -> datetime:
    return datetime(2024, 3, d, h, m, tzinfo=UTC)


def account(baselines: Baselines = EMPTY, nlv: float | None = None) -> AccountState:
    state = AccountState("US/Eastern", baselines)
    if nlv is not None:
        state.update("NetLiquidation", str(nlv), "USD")
    return state


# -- account values -------------------------------------------------------------------------------
def test_defaults_before_any_value() -> None:
    state = account()
    assert math.isnan(state.net_liquidation)
    assert math.isnan(state.cash)
    assert state.gross_exposure == 0.0
    assert state.daily_pnl is None


@pytest.mark.parametrize("currency", ["USD", "BASE", ""])
def test_base_currency_values_are_taken(currency: str) -> None:
    state = account()
    assert state.update("NetLiquidation", "100000.5", currency) is True
    assert state.update("TotalCashValue", "-250", currency) is True
    assert state.update("GrossPositionValue", "75000", currency) is True
    assert (state.net_liquidation, state.cash, state.gross_exposure) == (100000.5, -250.0, 75000.0)


def test_other_currencies_are_ignored() -> None:
    state = account()
    state.update("NetLiquidation", "100000", "USD")
    assert state.update("NetLiquidation", "5", "EUR") is False
    assert state.update("TotalCashValue", "5", "EUR") is False
    assert state.net_liquidation == 100000.0
    assert math.isnan(state.cash)
    assert state.values == {"NetLiquidation": 100000.0}


@pytest.mark.parametrize("value", ["", "DU123456", "nan", "NaN", "inf", "-inf", "1,000"])
def test_non_numeric_and_non_finite_values_are_ignored(value: str) -> None:
    state = account(nlv=50000)
    assert state.update("NetLiquidation", value, "USD") is False
    assert state.net_liquidation == 50000.0


def test_numeric_tags_tradd_does_not_use_are_kept_but_not_reported() -> None:
    state = account()
    assert state.update("BuyingPower", "400000", "USD") is False
    assert state.values == {"BuyingPower": 400000.0}


# -- equity baselines ------------------------------------------------------------------------------
def test_no_usable_equity_changes_nothing() -> None:
    state = account()
    assert state.observe_equity(MON_1500) == (False, False)
    state.update("NetLiquidation", "0", "USD")
    assert state.observe_equity(MON_1500) == (False, False)
    state.update("NetLiquidation", "-10", "USD")
    assert state.observe_equity(MON_1500) == (False, False)
    assert state.baselines == EMPTY


def test_first_day_sets_the_baselines_without_reporting_a_new_day() -> None:
    state = account(nlv=100000)
    assert state.observe_equity(MON_1500) == (False, True)
    assert state.baselines == Baselines(date(2024, 3, 11), 100000.0, 100000.0)
    assert state.daily_pnl == 0.0


def test_same_day_keeps_day_start_and_peak_only_rises() -> None:
    state = account(nlv=100000)
    state.observe_equity(MON_1500)
    state.update("NetLiquidation", "98000", "USD")
    assert state.observe_equity(utc(11, 16)) == (False, False)  # nothing to persist
    assert state.baselines == Baselines(date(2024, 3, 11), 100000.0, 100000.0)
    assert state.daily_pnl == -2000.0
    state.update("NetLiquidation", "103000", "USD")
    assert state.observe_equity(utc(11, 17)) == (False, True)
    assert state.baselines == Baselines(date(2024, 3, 11), 100000.0, 103000.0)
    state.update("NetLiquidation", "101000", "USD")
    assert state.observe_equity(utc(11, 18)) == (False, False)
    assert state.baselines.equity_peak == 103000.0
    assert state.daily_pnl == 1000.0


def test_restart_on_the_same_day_keeps_the_persisted_day_start_equity() -> None:
    persisted = Baselines(date(2024, 3, 11), 100000.0, 110000.0)
    state = account(persisted, nlv=95000)
    assert state.observe_equity(MON_1500) == (False, False)
    assert state.baselines == persisted  # the loss so far is not forgiven
    assert state.daily_pnl == -5000.0


def test_new_exchange_local_day_resets_the_day_start_and_reports_it() -> None:
    state = account(nlv=100000)
    state.observe_equity(MON_1500)
    state.update("NetLiquidation", "97000", "USD")
    assert state.observe_equity(utc(12, 3, 59)) == (False, False)  # 23:59 EDT, still Monday
    assert state.observe_equity(utc(12, 4, 0)) == (True, True)  # 00:00 EDT Tuesday
    assert state.baselines == Baselines(date(2024, 3, 12), 97000.0, 100000.0)
    assert state.daily_pnl == 0.0


def test_restart_on_a_later_day_reports_a_new_day() -> None:
    state = account(Baselines(date(2024, 3, 8), 100000.0, 120000.0), nlv=99000)
    assert state.observe_equity(MON_1500) == (True, True)
    assert state.baselines == Baselines(date(2024, 3, 11), 99000.0, 120000.0)


def test_trading_day_follows_the_exchange_zone() -> None:
    state = account(nlv=100000)
    state.set_zone("Asia/Tokyo")  # UTC+9: 15:00 UTC on the 11th is already the 12th
    state.observe_equity(MON_1500)
    assert state.baselines.day == date(2024, 3, 12)


def test_daily_pnl_is_none_without_a_baseline_or_without_equity() -> None:
    assert account(nlv=1000).daily_pnl is None
    assert account(Baselines(date(2024, 3, 11), 1000.0, 1000.0)).daily_pnl is None


def test_a_strategy_new_to_the_day_takes_the_accounts_recorded_start() -> None:
    """Issue 15: a worker that did not see the previous day takes today's start another
    strategy of the account recorded (so both show one account P&L), not its first look;
    one that watched the previous day starts from the equity at its close."""
    recorded = {date(2024, 3, 11): 100000.0}
    state = AccountState("US/Eastern", Baselines(date(2024, 3, 8), 90000.0, 120000.0),
                         recorded.get)  # fmt: skip
    state.update("NetLiquidation", "99000", "USD")
    assert state.observe_equity(MON_1500) == (True, True)
    assert state.baselines == Baselines(date(2024, 3, 11), 100000.0, 120000.0)
    assert state.daily_pnl == -1000.0
    state.update("NetLiquidation", "98500", "USD")  # Monday's close
    state.observe_equity(utc(11, 21))
    assert state.observe_equity(utc(12, 13, 30)) == (True, True)  # Tuesday 09:30 EDT
    assert state.baselines.day_start_equity == 98500.0  # not another strategy's (none)


def test_first_of_the_account_today_falls_back_to_its_first_look() -> None:
    state = AccountState("US/Eastern", EMPTY, lambda _day: None)
    state.update("NetLiquidation", "99000", "USD")
    state.observe_equity(MON_1500)
    assert state.baselines.day_start_equity == 99000.0
