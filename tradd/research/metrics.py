"""Performance statistics from an equity curve and closed trades.

Conventions (each formula in docs/research-metrics.md): returns, drawdown, CAGR,
volatility, win rate and exposure in percent. Sharpe, Sortino and volatility come from
period returns annualised by the `ReturnBasis`: one period per session (intraday equity
sampled at each session's last bar), week or month, and the periods a year of the
symbols' calendar (252 for US stocks, 365 for crypto, 52 for weekly bars, 12 for
monthly). CAGR is on a calendar basis (365.25 days a year). Undefined ratios (a flat
equity curve, no drawdown) are 0, so rankings stay total.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt

from tradd.research.engine import ClosedTrade, RunResult

TRADING_DAYS = 252
"""US stocks' periods a year: the default basis when no calendar is known."""


@dataclass(frozen=True)
class ReturnBasis:
    """How an equity curve becomes the period returns the ratios use, and how many of
    those periods make a year. Built per run from the symbols' calendars and bar size
    (`tradd.research.basis.basis_for`)."""

    periods_per_year: float = float(TRADING_DAYS)
    session_shift_s: int = 0
    """Added to local time before taking the date: a session opening in the evening
    (forex) is dated the day it closes (see `tradd.marketdata.calendars`)."""
    calendar: str = "XNYS"
    period: str = "session"
    """session, week or month: what one return spans."""

    def period_rate(self, annual_rate: float) -> float:
        """An annual risk-free rate per period (simple division, as empyrical does)."""
        return annual_rate / self.periods_per_year

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


US_DAILY = ReturnBasis()


@dataclass(frozen=True)
class Metrics:
    final_value: float
    total_return: float
    cagr: float
    sharpe: float
    sortino: float
    calmar: float
    volatility: float
    max_drawdown: float
    win_rate: float
    total_trades: int
    exposure: float
    profit_factor: float

    def as_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in vars(self).items()}


def run_metrics(
    result: RunResult,
    equity: npt.NDArray[np.float64],
    clock: npt.NDArray[np.datetime64],
    *,
    initial_cash: float,
    symbols: int,
    risk_free_rate: float,
    basis: ReturnBasis,
    ends: npt.NDArray[np.bool_] | None = None,
) -> Metrics:
    """`compute_metrics` of an engine run over the part of it that is measured (`equity`
    on `clock`, after any warm-up): its trades and time in the market come from the run.
    `ends`: `period_ends(clock, basis)` when the caller runs many on one clock."""
    return compute_metrics(
        equity,
        clock,
        result.trades,
        initial_cash=initial_cash,
        bars_in_market=result.bars_in_market,
        symbols=symbols,
        risk_free_rate=risk_free_rate,
        basis=basis,
        ends=ends,
    )


def compute_metrics(
    equity: npt.NDArray[np.float64],
    clock: npt.NDArray[np.datetime64],
    trades: Sequence[ClosedTrade],
    *,
    initial_cash: float,
    bars_in_market: int,
    symbols: int = 1,
    risk_free_rate: float = 0.0,
    basis: ReturnBasis = US_DAILY,
    ends: npt.NDArray[np.bool_] | None = None,
) -> Metrics:
    if len(equity) == 0:
        return Metrics(initial_cash, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    final = float(equity[-1])
    total_return = (final / initial_cash - 1.0) * 100.0
    periods = period_returns(equity, clock, initial_cash, basis, ends)
    cagr = _cagr(initial_cash, final, clock)
    max_dd = max_drawdown_pct(equity, initial_cash)
    wins = [t for t in trades if t.pnl_net > 0]
    gross_win = sum(t.pnl_net for t in wins)
    gross_loss = -sum(t.pnl_net for t in trades if t.pnl_net < 0)
    return Metrics(
        final_value=final,
        total_return=total_return,
        cagr=cagr,
        sharpe=sharpe_ratio(periods, risk_free_rate, basis.periods_per_year),
        sortino=sortino_ratio(periods, risk_free_rate, basis.periods_per_year),
        calmar=cagr / max_dd if max_dd > 0 else 0.0,
        volatility=annual_volatility(periods, basis.periods_per_year),
        max_drawdown=max_dd,
        win_rate=100.0 * len(wins) / len(trades) if trades else 0.0,
        total_trades=len(trades),
        exposure=100.0 * bars_in_market / (len(equity) * symbols),
        profit_factor=gross_win / gross_loss if gross_loss > 0 else 0.0,
    )


def period_ends(
    clock: npt.NDArray[np.datetime64], basis: ReturnBasis = US_DAILY
) -> npt.NDArray[np.bool_]:
    """True at the last bar of each period (session, or the bar itself for weekly and
    monthly bars, which are one a session-date each)."""
    shifted = clock.astype("datetime64[s]") + np.timedelta64(basis.session_shift_s, "s")
    keys = shifted.astype("datetime64[D]")
    ends: npt.NDArray[np.bool_] = np.append(keys[1:] != keys[:-1], True)
    return ends


def period_returns(
    equity: npt.NDArray[np.float64],
    clock: npt.NDArray[np.datetime64],
    initial_cash: float,
    basis: ReturnBasis = US_DAILY,
    ends: npt.NDArray[np.bool_] | None = None,
) -> npt.NDArray[np.float64]:
    """Simple returns between each period's closing equity, the first against the
    initial cash. `ends`: `period_ends(clock, basis)`, when the caller has it already."""
    ends = period_ends(clock, basis) if ends is None else ends
    closes = np.concatenate([[initial_cash], equity[ends]])
    returns: npt.NDArray[np.float64] = np.diff(closes) / closes[:-1]
    return returns


def daily_returns(
    equity: npt.NDArray[np.float64], clock: npt.NDArray[np.datetime64], initial_cash: float
) -> npt.NDArray[np.float64]:
    """`period_returns` on US stocks' basis (calendar dates)."""
    return period_returns(equity, clock, initial_cash, US_DAILY)


def sharpe_ratio(
    returns: npt.NDArray[np.float64],
    risk_free_rate: float = 0.0,
    periods_per_year: float = TRADING_DAYS,
) -> float:
    return _annualised_ratio(returns, risk_free_rate, periods_per_year, _volatility)


def sortino_ratio(
    returns: npt.NDArray[np.float64],
    risk_free_rate: float = 0.0,
    periods_per_year: float = TRADING_DAYS,
) -> float:
    return _annualised_ratio(returns, risk_free_rate, periods_per_year, _downside_deviation)


def _volatility(excess: npt.NDArray[np.float64]) -> float:
    return float(excess.std(ddof=1))


def _downside_deviation(excess: npt.NDArray[np.float64]) -> float:
    return math.sqrt(float(np.mean(np.minimum(excess, 0.0) ** 2)))


def _annualised_ratio(
    returns: npt.NDArray[np.float64],
    risk_free_rate: float,
    periods_per_year: float,
    risk: Callable[[npt.NDArray[np.float64]], float],
) -> float:
    """Mean excess return over its `risk`, annualised: 0 with fewer than two returns or
    with no risk (flat returns), where the ratio is undefined."""
    if len(returns) < 2:
        return 0.0
    excess = returns - risk_free_rate / periods_per_year
    spread = risk(excess)
    return float(excess.mean() / spread * math.sqrt(periods_per_year)) if spread > 1e-12 else 0.0


def annual_volatility(returns: npt.NDArray[np.float64], periods_per_year: float) -> float:
    """Sample standard deviation of period returns, annualised, in %."""
    if len(returns) < 2:
        return 0.0
    return float(returns.std(ddof=1) * math.sqrt(periods_per_year) * 100.0)


def max_drawdown_pct(equity: npt.NDArray[np.float64], initial_cash: float) -> float:
    """Largest fall from a running peak (the initial cash counts as the first peak), in %."""
    curve = np.concatenate([[initial_cash], equity])
    peaks = np.maximum.accumulate(curve)
    return float(((peaks - curve) / peaks).max() * 100.0)


def _cagr(initial: float, final: float, clock: npt.NDArray[np.datetime64]) -> float:
    span_days = (clock[-1] - clock[0]).astype("timedelta64[s]").astype(np.int64) / 86_400
    years = span_days / 365.25
    if years <= 0 or final <= 0:
        return 0.0 if final > 0 else -100.0
    return float(((final / initial) ** (1.0 / years) - 1.0) * 100.0)
