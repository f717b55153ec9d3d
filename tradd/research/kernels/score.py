"""The screen's objective of one kernel run, in numba: what `research.metrics` computes,
without building a `RunResult` and its trade objects for each of 10,000 combinations.

Only the ranking of the screen comes from here; the confirmed combinations' figures are
Backtrader's, computed by `research.metrics` itself. numba sums in another order than
NumPy's pairwise sums, so a value can differ from the reported one in the last digits
(it changes nothing but the order of exact ties).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from tradd.research.kernels.codes import FloatArray, IntArray


@numba.njit(cache=True)  # type: ignore[untyped-decorator]
def _ratio(excess: FloatArray, downside: bool, periods_per_year: float) -> float:
    n = excess.shape[0]
    if n < 2:
        return 0.0
    mean = excess.mean()
    if downside:
        spread = math.sqrt(np.mean(np.minimum(excess, 0.0) ** 2))
    else:
        spread = math.sqrt(((excess - mean) ** 2).sum() / (n - 1))
    return float(mean / spread * math.sqrt(periods_per_year)) if spread > 1e-12 else 0.0


@numba.njit(cache=True)  # type: ignore[untyped-decorator]
def _max_drawdown(equity: FloatArray, cash: float) -> float:
    peak, worst = cash, 0.0
    for value in equity:
        peak = max(peak, value)
        worst = max(worst, (peak - value) / peak)
    return float(worst * 100.0)


@numba.njit(cache=True)  # type: ignore[untyped-decorator]
def objective(
    equity: FloatArray,
    ends: IntArray,
    pnl_net: FloatArray,
    cash: float,
    years: float,
    rf_per_period: float,
    periods_per_year: float,
    code: int,
) -> tuple[float, float]:
    """(objective value, per-period Sharpe) of the measured `equity`; `ends`: indices of
    each period's last bar; `pnl_net`: the closed trades' net P&L."""
    final = equity[-1]
    closes = np.empty(ends.shape[0] + 1)
    closes[0] = cash
    for k in range(ends.shape[0]):
        closes[k + 1] = equity[ends[k]]
    excess = np.diff(closes) / closes[:-1] - rf_per_period
    sharpe = _ratio(excess, False, periods_per_year)
    total_return = (final / cash - 1.0) * 100.0
    per_period = sharpe / math.sqrt(periods_per_year)
    if code == 0:
        return sharpe, per_period
    if code == 1:
        return total_return, per_period
    max_dd = _max_drawdown(equity, cash)
    if years <= 0 or final <= 0:
        cagr = 0.0 if final > 0 else -100.0
    else:
        cagr = ((final / cash) ** (1.0 / years) - 1.0) * 100.0
    if code == 2:
        return (cagr / max_dd if max_dd > 0 else 0.0), per_period
    trades = pnl_net.shape[0]
    wins = 0
    for pnl in pnl_net:
        if pnl > 0:
            wins += 1
    win_rate = 100.0 * wins / trades if trades else 0.0
    composite = (
        min(total_return / 100.0, 1.0) * 30.0
        + min(sharpe / 2.0, 1.0) * 30.0
        + max(0.0, 1.0 - max_dd / 50.0) * 20.0
        + (win_rate / 100.0) * 15.0
        + min(trades / 10.0, 1.0) * 5.0
    )
    return composite, per_period
