"""One window: the OOS run warms indicators on earlier bars but trades only from its start."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import backtrader as bt
import numpy as np
import pytest

from strategies.sma_cross import SmaCross
from tradd.errors import DataError, StrategyError
from tradd.marketdata.bars import Bars
from tradd.marketdata.store import DataStore
from tradd.research.broker import BrokerConfig
from tradd.research.engine import BacktestEngine
from tradd.research.metrics import compute_metrics
from tradd.research.params import parse_range
from tradd.research.walkforward.evaluate import (
    WindowPlan,
    check_coverage,
    run_oos,
    run_window,
    window_bars,
)
from tradd.research.walkforward.windows import Window

from ...conftest import SAMPLE_DATA

WINDOW = Window(0, date(2005, 7, 1), date(2006, 6, 30), date(2006, 7, 1), date(2006, 12, 31))
OOS_START = datetime(2006, 7, 1)
PARAMS = {"fast": 10, "slow": 50}
CASH = 100_000.0


class Logged(SmaCross):
    """SmaCross that notes (status, created day) of every finished or rejected order."""

    params = (("log", None),)

    def notify_order(self, order: Any) -> None:
        if order.status in (order.Completed, order.Rejected):
            self.p.log.append((order.getstatusname(), bt.num2date(order.created.dt).date()))


class BuyWhenFlat(bt.Strategy):
    """Buys on every bar while flat; logs (status, created day, executed day)."""

    params = (("log", None),)

    def next(self) -> None:
        if not self.position:
            self.buy(size=10)

    def notify_order(self, order: Any) -> None:
        if order.status in (order.Completed, order.Rejected):
            done = bt.num2date(order.executed.dt).date() if order.executed.size else None
            self.p.log.append((order.getstatusname(), bt.num2date(order.created.dt).date(), done))


class Exploding(SmaCross):
    def next(self) -> None:
        raise RuntimeError("boom")


def orcl() -> Any:
    return DataStore(SAMPLE_DATA).load("ORCL", "1d", date(2005, 1, 1), date(2007, 12, 31))


def plan(strategy: type[bt.Strategy] = SmaCross, **changes: Any) -> WindowPlan:
    space = (parse_range("fast", "10,20", 10), parse_range("slow", "50,100", 30))
    values: dict[str, Any] = {
        "strategy": strategy,
        "bars": (orcl(),),
        "broker": BrokerConfig(cash=CASH),
        "space": space,
        "method": "grid",
        "objective": "sharpe",
        "trials": 4,
        "grid_slots": tuple({"fast": f, "slow": s} for f in (10, 20) for s in (50, 100)),
        "seed": 1,
    }
    return WindowPlan(**{**values, **changes})


def logged_run(first: date, trade_from: datetime | None) -> tuple[list[Any], Any, Any]:
    log: list[tuple[str, date]] = []
    bars = window_bars([orcl()], first, WINDOW.oos_end)
    engine = BacktestEngine(Logged, bars, BrokerConfig(cash=CASH), trade_from=trade_from)
    return log, engine, engine.run({**PARAMS, "log": log})


def test_no_order_is_accepted_before_the_oos_start() -> None:
    log, engine, result = logged_run(WINDOW.is_start, OOS_START)
    rejected = [day for status, day in log if status == "Rejected"]
    filled = [day for status, day in log if status == "Completed"]
    assert rejected, "the strategy wanted to trade during the warm-up"
    assert all(day < OOS_START.date() for day in rejected)
    assert filled and all(day >= OOS_START.date() for day in filled)
    first = int(np.searchsorted(engine.clock, np.datetime64(OOS_START, "s")))
    assert set(result.equity[: first + 1].tolist()) == {CASH}  # flat up to the first OOS bar


def test_an_order_from_the_last_warm_up_bar_is_rejected_not_filled_at_the_oos_open() -> None:
    # 2006-06-30 (Fri) is the last IS bar, 2006-07-03 the first OOS bar, 07-04 a holiday
    log: list[tuple[str, date, date | None]] = []
    bars = window_bars([orcl()], date(2006, 6, 1), WINDOW.oos_end)
    engine = BacktestEngine(BuyWhenFlat, bars, BrokerConfig(cash=CASH), trade_from=OOS_START)
    result = engine.run({"log": log})
    assert ("Rejected", date(2006, 6, 30), None) in log
    completed = [entry for entry in log if entry[0] == "Completed"]
    assert completed[0] == ("Completed", date(2006, 7, 3), date(2006, 7, 5))
    first = int(np.searchsorted(engine.clock, np.datetime64(OOS_START, "s")))
    assert engine.clock[first] == np.datetime64("2006-07-03T00:00:00")
    assert result.equity[first] == CASH  # flat through the first OOS bar's close
    assert result.equity[first + 1] != CASH


def test_warm_indicators_trade_on_the_first_oos_bars_cold_ones_cannot() -> None:
    warm_log, warm_engine, _ = logged_run(WINDOW.is_start, OOS_START)
    cold_log, cold_engine, _ = logged_run(WINDOW.oos_start, None)
    first_oos_day = warm_engine.clock[
        np.searchsorted(warm_engine.clock, np.datetime64(OOS_START, "s"))
    ]
    warm_first = next(day for status, day in warm_log if status == "Completed")
    cold_first = next(day for status, day in cold_log if status == "Completed")
    assert np.datetime64(warm_first) == first_oos_day.astype("datetime64[D]")
    # without warm-up the slow average needs `slow` OOS bars before the first signal
    cold_clock = cold_engine.clock.astype("datetime64[D]")
    assert np.datetime64(cold_first) >= cold_clock[PARAMS["slow"] - 1]


def test_run_oos_measures_only_the_oos_bars() -> None:
    clock, equity, metrics = run_oos(plan(), WINDOW, PARAMS)
    oos_bars = window_bars([orcl()], WINDOW.oos_start, WINDOW.oos_end)[0]
    assert np.array_equal(clock, oos_bars.time)
    assert equity[0] == CASH
    assert metrics.total_return == pytest.approx((equity[-1] / CASH - 1) * 100)
    assert metrics.total_trades > 0


def test_trade_from_none_changes_nothing() -> None:
    bars = [orcl()]
    plain = BacktestEngine(SmaCross, bars, BrokerConfig()).run(PARAMS)
    early = BacktestEngine(SmaCross, bars, BrokerConfig(), trade_from=datetime(2000, 1, 1))
    assert early.run(PARAMS).equity.tolist() == plain.equity.tolist()


def test_grid_window_picks_the_best_is_trial() -> None:
    trials: list[int] = []
    result = run_window(plan(), WINDOW, lambda: trials.append(1), lambda: False)
    assert len(trials) == 4
    assert result.counts.complete == 4
    assert result.trial_returns.shape[1] == 4
    is_bars = window_bars([orcl()], WINDOW.is_start, WINDOW.is_end)[0]
    assert result.trial_returns.shape[0] == len(is_bars)  # one daily return per IS day
    best = BacktestEngine(SmaCross, [is_bars], BrokerConfig(cash=CASH))
    sharpes = {}
    for slot in plan().grid_slots:
        run = best.run(slot)
        sharpes[tuple(slot.values())] = compute_metrics(
            run.equity, best.clock, run.trades, initial_cash=CASH, bars_in_market=0
        ).sharpe
    assert result.is_metrics.sharpe == pytest.approx(max(sharpes.values()))
    assert tuple(result.best_params.values()) == max(sharpes, key=lambda k: sharpes[k])
    assert result.oos_equity[0] == CASH


def future_scrambled(bars: Bars, after: date) -> Bars:
    """The same bars with every price from `after` on replaced by noise."""
    rng = np.random.default_rng(3)
    late = bars.time >= np.datetime64(after, "s")
    noise = np.where(late, rng.uniform(0.5, 1.5, len(bars)), 1.0)
    prices = [getattr(bars, name) * noise for name in ("open", "high", "low", "close")]
    return Bars(bars.symbol, bars.bar, bars.time, *prices, bars.volume)


def test_no_oos_bar_reaches_the_in_sample_search() -> None:
    scrambled = plan(
        method="bayesian",
        trials=6,
        grid_slots=(),
        bars=(future_scrambled(orcl(), WINDOW.oos_start),),
    )
    honest = run_window(
        plan(method="bayesian", trials=6, grid_slots=()), WINDOW, lambda: None, lambda: False
    )
    other = run_window(scrambled, WINDOW, lambda: None, lambda: False)
    assert other.best_params == honest.best_params
    assert other.is_metrics == honest.is_metrics
    assert np.array_equal(other.trial_returns, honest.trial_returns)
    assert other.oos_equity.tolist() != honest.oos_equity.tolist()  # the OOS did change


def test_bayesian_window_is_seeded_and_counts_every_trial() -> None:
    bayes = plan(method="bayesian", trials=5, grid_slots=())
    first = run_window(bayes, WINDOW, lambda: None, lambda: False)
    again = run_window(bayes, WINDOW, lambda: None, lambda: False)
    counts = first.counts
    assert counts.complete + counts.skipped + counts.failed + counts.repeated == 5
    assert first.best_params == again.best_params
    assert first.trial_returns.shape[1] == counts.complete


def test_a_window_without_any_completed_trial_fails_clearly() -> None:
    with pytest.raises(StrategyError, match="no trial completed .4 failed.*boom"):
        run_window(plan(Exploding), WINDOW, lambda: None, lambda: False)


def test_coverage_names_the_symbol_and_period() -> None:
    late = Window(0, date(2004, 1, 1), date(2004, 12, 31), date(2005, 1, 1), date(2005, 6, 30))
    with pytest.raises(DataError, match="ORCL: no bars in window 0's IS period 2004-01-01"):
        check_coverage([orcl()], [late])
