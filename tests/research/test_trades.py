"""The full trade list: every figure checks against the fills, the data and the equity."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from tradd.marketdata.bars import Bars
from tradd.marketdata.contracts import load_definitions
from tradd.marketdata.store import DataStore
from tradd.research.broker import BrokerConfig
from tradd.research.buy_hold import buy_and_hold
from tradd.research.costs import CommissionRates, CostScheme, costs_for
from tradd.research.engine import BacktestEngine, RunResult
from tradd.research.trades import TradeRecord

from ..conftest import SAMPLE_DATA
from .trade_strategies import Flipper

STOCKS = BrokerConfig(cash=100_000.0, slippage_pct=0.1)


def future_costs() -> dict[str, CostScheme]:
    """IDXFUT as the Eurex future it is (sample contracts.toml: 10 EUR a point), 2.0 a
    contract."""
    rates = CommissionRates(futures_per_contract=2.0)
    return costs_for(["IDXFUT"], rates, load_definitions(SAMPLE_DATA))


def run(
    bars: list[Bars],
    costs: dict[str, CostScheme] | None = None,
    unit: int = 10,
    broker: BrokerConfig = STOCKS,
) -> RunResult:
    engine = BacktestEngine(Flipper, bars, broker, costs=costs)
    return engine.run({"unit": unit}, records=True)


def check_against_data(result: RunResult, bars: list[Bars], cash: float = STOCKS.cash) -> None:
    times = {b.symbol: set(b.time.astype("datetime64[s]").tolist()) for b in bars}
    for trade in result.records:
        for stamp in (trade.entry_time, trade.exit_time):
            assert np.datetime64(stamp, "s").tolist() in times[trade.symbol], (trade, stamp)
        sign = 1.0 if trade.direction == "long" else -1.0
        points = (trade.exit_price - trade.entry_price) * sign
        assert points * trade.size * trade.multiplier == pytest.approx(trade.pnl, abs=0.01)
        assert trade.pnl - trade.commission == pytest.approx(trade.pnl_net, abs=1e-9)
    # final value - cash = closed trades' net P&L + the open positions' (marked at the close)
    booked = sum(t.pnl_net for t in result.records) + sum(t.pnl_net for t in result.open_records)
    assert booked == pytest.approx(result.final_value - cash, abs=0.01)
    # the records are the same trades the metrics count
    summary = sorted((t.symbol, t.pnl_net, t.bars) for t in result.trades)
    assert summary == sorted((t.symbol, t.pnl_net, t.bars) for t in result.records)


def test_future_trades_long_short_reversals_and_scaling() -> None:
    bars = [DataStore(SAMPLE_DATA).load("IDXFUT", "5m", date(2006, 1, 2), date(2006, 1, 20))]
    # research funds futures in full (docs/research-costs.md): 4 contracts are ~EUR 145,000
    funded = BrokerConfig(cash=1_000_000.0)
    result = run(bars, future_costs(), unit=1, broker=funded)
    check_against_data(result, bars, funded.cash)
    assert {t.multiplier for t in result.records} == {10.0}
    longs = [t for t in result.records if t.direction == "long"]
    shorts = [t for t in result.records if t.direction == "short"]
    assert len(longs) >= 5 and len(shorts) >= 5
    # a long: 2 + 1 in, 1 + 2 out (the reversal's first part); a short: 3 + 1 in, 4 out
    assert {t.size for t in longs} == {3.0} and {t.size for t in shorts} == {4.0}
    # the reversal closes the long and opens the short on the same bar at the same price
    first_short = shorts[0]
    reversed_long = next(t for t in longs if t.exit_time == first_short.entry_time)
    assert reversed_long.exit_time == first_short.entry_time
    assert all(t.commission == pytest.approx(2.0 * 2 * t.size) for t in result.records)


def test_stock_trades_on_two_symbols_with_slippage_and_an_open_position() -> None:
    store = DataStore(SAMPLE_DATA)
    bars = [store.load(s, "1d", date(2006, 1, 1), date(2006, 12, 31)) for s in ("GOOG", "ORCL")]
    result = run(bars)
    check_against_data(result, bars)
    assert {t.symbol for t in result.records} == {"GOOG", "ORCL"}
    assert result.open_records, "the schedule leaves each symbol's last trade open"
    longs = [t for t in result.records if t.direction == "long"]
    assert longs and {t.size for t in longs} == {30.0}
    for trade in longs:  # bought 20 then 10 at the fill bars' opens, slipped up 0.1%
        bar = next(b for b in bars if b.symbol == trade.symbol)
        at = int(np.searchsorted(bar.time, np.datetime64(trade.entry_time)))
        first, second = (min(bar.open[i] * 1.001, bar.high[i]) for i in (at, at + 3))
        assert trade.entry_price == pytest.approx((2 * first + second) / 3, rel=1e-12)


def test_records_only_when_asked() -> None:
    """Optimization trials run without them: the trial path does no extra work."""
    bars = [DataStore(SAMPLE_DATA).load("GOOG", "1d", date(2006, 1, 1), date(2006, 6, 30))]
    engine = BacktestEngine(Flipper, bars, STOCKS)
    plain = engine.run({"unit": 10})
    full = engine.run({"unit": 10}, records=True)
    assert plain.records == [] and plain.open_records == []
    assert len(full.records) == len(plain.trades) > 0
    assert isinstance(full.records[0], TradeRecord)


def test_buy_and_hold_is_equal_weight_with_the_same_cash() -> None:
    def bars(symbol: str, days: list[str], closes: list[float]) -> Bars:
        values = np.array(closes)
        return Bars(symbol, "1d", np.array(days, dtype="datetime64[s]"), values, values,
                    values, values, np.zeros(len(values)))  # fmt: skip

    a = bars("A", ["2024-01-02", "2024-01-03", "2024-01-05"], [10.0, 20.0, 5.0])
    b = bars("B", ["2024-01-03", "2024-01-04", "2024-01-05"], [50.0, 100.0, 25.0])
    clock = np.array(["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"], "datetime64[s]")
    # A: 500 / 10 = 50 units; B: cash until its first bar, then 500 / 50 = 10 units
    assert buy_and_hold([a, b], clock, 1000.0).tolist() == [1000.0, 1500.0, 2000.0, 500.0]
