"""Run one strategy over preloaded data many times, each run with different parameters.

Backtrader's `optstrategy` re-sends the whole Cerebro (data included) to a worker for
every combination and builds observers nobody reads. Here a Cerebro is prepared once
(data preloaded), forked worker processes inherit it, and each run returns a small
`RunResult`. Each run goes through Backtrader's own `runstrategies`, so the numbers are
the ones `optstrategy` gives.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import backtrader as bt
import numpy as np

from tradd.errors import DataError, TraddError
from tradd.marketdata.bars import Bars, TimeArray
from tradd.research.broker import BrokerConfig, RecordingBroker, configure_broker
from tradd.research.costs import CostScheme, default_costs
from tradd.research.feed import make_feed
from tradd.research.trades import OpenTrade, TradeRecord, open_trades, trade_records


@dataclass(frozen=True)
class ClosedTrade:
    symbol: str
    pnl: float
    pnl_net: float
    bars: int


@dataclass(frozen=True)
class RunResult:
    params: dict[str, Any]
    final_value: float
    equity: np.ndarray
    trades: list[ClosedTrade] = field(default_factory=list)
    bars_in_market: int = 0
    """Sum over symbols of bars with an open position (for exposure)."""
    records: list[TradeRecord] = field(default_factory=list)
    """The closed trades in full (prices, times, size); only when asked for (`run`)."""
    open_records: list[OpenTrade] = field(default_factory=list)
    """Positions open at the end, marked at the last close; with `records` only."""


class StrategySkipped(Exception):
    """The strategy refused these parameters (Backtrader's StrategySkipError)."""


class NotEnoughBars(DataError):
    """A symbol has fewer bars than the strategy's longest indicator needs.

    Backtrader either fails deep inside an indicator (`IndexError: array assignment index
    out of range`) or, worse, runs without ever calling `next`: a run that cannot trade
    reported as a flat result. Either way the run is refused with the numbers."""


def failure_text(exc: BaseException) -> str:
    """How a failed run is recorded (trial, scan row): our errors' own sentence, anything
    else (a strategy's bug) with its type."""
    return str(exc) if isinstance(exc, TraddError) else f"{type(exc).__name__}: {exc}"


def failed_note(failed: int, trials: int, first: str) -> str | None:
    """The warning every search prints when trials failed (None when none did)."""
    if failed <= 0:
        return None
    return f"{failed} of {trials} trials failed; first: {first or 'no message'}"


def describe(strategy: type[bt.Strategy], params: Mapping[str, Any]) -> str:
    """`SmaCross(fast=10, slow=30, threshold=0.0)`."""
    return f"{strategy.__name__}({', '.join(f'{k}={v!r}' for k, v in params.items())})"


def shortage(strategy: bt.Strategy, bars: list[Bars], params: Mapping[str, Any]) -> str | None:
    """Why `bars` are too short for this strategy instance (None: they are not).

    `_minperiod` is Backtrader's own: the strategy's first `next` comes on that bar, the
    longest of its indicators' periods. The longest applies to every symbol: Backtrader's
    per-data split (`_minperiods`) misplaces indicators on derived lines (`data.high(-1)`)."""
    needed = int(strategy._minperiod)
    for b in bars:
        if len(b) < needed:
            return (
                f"{describe(type(strategy), params)} needs at least {needed} bars (its longest "
                f"indicator warm-up); {b.symbol} has {len(b)} between "
                f"{b.first:%Y-%m-%d} and {b.last:%Y-%m-%d}"
            )
    return None


class BacktestEngine:
    """`backtrader_broker` replaces the default `RecordingBroker` (e.g. `RiskBroker` for
    `tradd backtest --risk`); it is configured from `broker` like the default one.

    `trade_from`: orders created on bars before this time are rejected (indicators warm up
    on those bars, but the run trades only from it); see `RecordingBroker`.

    `costs`: each symbol's commission scheme and multiplier (`LoadedInputs.costs`, from
    the contract definitions); None: the default of each symbol's shape (EURUSD forex,
    anything unlisted a US stock) at `broker`'s rates."""

    def __init__(
        self,
        strategy: type[bt.Strategy],
        bars: list[Bars],
        broker: BrokerConfig,
        *,
        backtrader_broker: RecordingBroker | None = None,
        trade_from: datetime | None = None,
        costs: Mapping[str, CostScheme] | None = None,
    ) -> None:
        self.strategy = strategy
        self.bars = bars
        self.broker = broker
        symbols = [b.symbol for b in bars]
        self.costs = dict(costs) if costs is not None else default_costs(symbols, broker.rates)
        self._backtrader_broker = backtrader_broker
        self.custom_broker = backtrader_broker is not None
        self.trade_from = trade_from
        self._trade_from = None if trade_from is None else float(bt.date2num(trade_from))
        self.clock: TimeArray = _master_clock(bars)
        self._cerebro = self._prepared_cerebro()

    def _prepared_cerebro(self) -> bt.Cerebro:
        cerebro = bt.Cerebro(stdstats=False, optreturn=False)
        given = self._backtrader_broker
        cerebro.broker = given if given is not None else RecordingBroker()
        if self._trade_from is not None:
            cerebro.broker.p.trade_from = self._trade_from
        configure_broker(cerebro, self.broker, self.costs)
        for bars in self.bars:
            cerebro.adddata(make_feed(bars))
        _preload(cerebro)
        return cerebro

    def run(self, params: Mapping[str, Any], *, records: bool = False) -> RunResult:
        """One run. Raises StrategySkipped, NotEnoughBars, or what the strategy raised.

        `records`: also the full trade list (`tradd backtest`; optimization trials, which
        need only the summary, skip it)."""
        cerebro = self._cerebro
        try:
            strategies = cerebro.runstrategies([(self.strategy, (), dict(params))], predata=True)
        except Exception as exc:
            # runstrategies lists the strategy before running it: its needs are readable.
            built = getattr(cerebro, "runningstrats", None) or []
            reason = shortage(built[0], self.bars, params) if built else None
            if reason:
                raise NotEnoughBars(reason) from exc
            raise
        if not strategies:
            raise StrategySkipped(f"strategy skipped parameters {dict(params)}")
        strategy = strategies[0]
        reason = shortage(strategy, self.bars, params)
        if reason:
            raise NotEnoughBars(reason)
        broker: RecordingBroker = cerebro.broker
        trades, in_market = _trade_summary(strategy)
        return RunResult(
            dict(params),
            float(broker.getvalue()),
            np.asarray(broker.equity),
            trades,
            in_market,
            trade_records(strategy) if records else [],
            open_trades(strategy) if records else [],
        )


def _master_clock(bars: list[Bars]) -> TimeArray:
    """Backtrader steps through the union of all feeds' timestamps; so does the equity."""
    clock = bars[0].time
    for more in bars[1:]:
        clock = np.union1d(clock, more.time)
    return clock


def _preload(cerebro: bt.Cerebro) -> None:
    """The set-up half of `Cerebro.run` (backtrader 1.9.78), data preloaded once.

    After this, `runstrategies(..., predata=True)` can be called repeatedly, exactly as
    Cerebro's own optimization workers do.
    """
    bt.linebuffer.LineActions.cleancache()
    bt.indicator.Indicator.cleancache()
    bt.linebuffer.LineActions.usecache(cerebro.p.objcache)
    bt.indicator.Indicator.usecache(cerebro.p.objcache)
    cerebro._event_stop = False
    cerebro._dorunonce = cerebro.p.runonce
    cerebro._dopreload = cerebro.p.preload
    cerebro._exactbars = int(cerebro.p.exactbars)
    cerebro._dooptimize = False
    cerebro.runwriters = []
    cerebro.writers_csv = False
    cerebro.runstrats = []
    for data in cerebro.datas:
        data.reset()
        data.extend(size=cerebro.params.lookahead)
        data._start()
        data.preload()


def _trade_summary(strategy: bt.Strategy) -> tuple[list[ClosedTrade], int]:
    """Closed trades and bars in the market, read once after the run.

    Backtrader keeps every Trade object in `strategy._trades`; reading it afterwards costs
    nothing per bar, unlike an analyzer.
    """
    closed: list[ClosedTrade] = []
    in_market = 0
    for data, by_id in strategy._trades.items():
        for trades in by_id.values():
            for trade in trades:
                if trade.isclosed:
                    closed.append(ClosedTrade(data._name, trade.pnl, trade.pnlcomm, trade.barlen))
                    in_market += trade.barlen
                elif trade.isopen:
                    in_market += len(data) - trade.baropen
    return closed, in_market
