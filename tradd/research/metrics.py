"""Performance statistics from an equity curve and closed trades.

Conventions (documented in the README): returns, drawdown, CAGR, win rate and exposure
in percent; Sharpe and Sortino annualised from daily returns with 252 trading days;
intraday equity is sampled at each day's last bar first. Undefined ratios (a flat
equity curve, no drawdown) are 0, so rankings stay total.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt

from tradd.research.engine import ClosedTrade

TRADING_DAYS = 252


@dataclass(frozen=True)
class Metrics:
    final_value: float
    total_return: float
    cagr: float
    sharpe: float
    sortino: float
    calmar: float
    max_drawdown: float
    win_rate: float
    total_trades: int
    exposure: float
    profit_factor: float

    def as_dict(self) -> dict[str, float]:
        return {k: float(v) for k, v in asdict(self).items()}


def compute_metrics(
    equity: npt.NDArray[np.float64],
    clock: npt.NDArray[np.datetime64],
    trades: Sequence[ClosedTrade],
    *,
    initial_cash: float,
    bars_in_market: int,
    symbols: int = 1,
    risk_free_rate: float = 0.0,
) -> Metrics:
    if len(equity) == 0:
        return Metrics(initial_cash, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    final = float(equity[-1])
    total_return = (final / initial_cash - 1.0) * 100.0
    daily = daily_returns(equity, clock, initial_cash)
    cagr = _cagr(initial_cash, final, clock)
    max_dd = max_drawdown_pct(equity, initial_cash)
    wins = [t for t in trades if t.pnl_net > 0]
    gross_win = sum(t.pnl_net for t in wins)
    gross_loss = -sum(t.pnl_net for t in trades if t.pnl_net < 0)
    return Metrics(
        final_value=final,
        total_return=total_return,
        cagr=cagr,
        sharpe=sharpe_ratio(daily, risk_free_rate),
        sortino=sortino_ratio(daily, risk_free_rate),
        calmar=cagr / max_dd if max_dd > 0 else 0.0,
        max_drawdown=max_dd,
        win_rate=100.0 * len(wins) / len(trades) if trades else 0.0,
        total_trades=len(trades),
        exposure=100.0 * bars_in_market / (len(equity) * symbols),
        profit_factor=gross_win / gross_loss if gross_loss > 0 else 0.0,
    )


def daily_returns(
    equity: npt.NDArray[np.float64], clock: npt.NDArray[np.datetime64], initial_cash: float
) -> npt.NDArray[np.float64]:
    """Simple returns between each day's closing equity, the first against the initial cash."""
    days = clock.astype("datetime64[D]")
    last_of_day = np.append(days[1:] != days[:-1], True)
    closes = np.concatenate([[initial_cash], equity[last_of_day]])
    returns: npt.NDArray[np.float64] = np.diff(closes) / closes[:-1]
    return returns


def sharpe_ratio(daily: npt.NDArray[np.float64], risk_free_rate: float = 0.0) -> float:
    if len(daily) < 2:
        return 0.0
    excess = daily - risk_free_rate / TRADING_DAYS
    std = float(excess.std(ddof=1))
    return float(excess.mean() / std * math.sqrt(TRADING_DAYS)) if std > 1e-12 else 0.0


def sortino_ratio(daily: npt.NDArray[np.float64], risk_free_rate: float = 0.0) -> float:
    if len(daily) < 2:
        return 0.0
    excess = daily - risk_free_rate / TRADING_DAYS
    downside = math.sqrt(float(np.mean(np.minimum(excess, 0.0) ** 2)))
    return float(excess.mean() / downside * math.sqrt(TRADING_DAYS)) if downside > 1e-12 else 0.0


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
