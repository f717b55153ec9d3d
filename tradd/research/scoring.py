"""Objectives used to rank parameter sets, and the composite score.

The composite score (0-100) is the spec's, with returns, drawdown and win rate in percent:
    min(total_return/100, 1)*30 + min(sharpe/2, 1)*30 + max(0, 1 - max_drawdown/50)*20
    + (win_rate/100)*15 + min(total_trades/10, 1)*5
"""

from __future__ import annotations

from collections.abc import Mapping

OBJECTIVES = ("sharpe", "returns", "calmar", "composite")


def composite_score(
    total_return: float, sharpe: float, max_drawdown: float, win_rate: float, total_trades: float
) -> float:
    return (
        min(total_return / 100.0, 1.0) * 30.0
        + min(sharpe / 2.0, 1.0) * 30.0
        + max(0.0, 1.0 - max_drawdown / 50.0) * 20.0
        + (win_rate / 100.0) * 15.0
        + min(total_trades / 10.0, 1.0) * 5.0
    )


def objective_value(metrics: Mapping[str, float], objective: str) -> float:
    """The number to maximise for `objective` (see OBJECTIVES)."""
    if objective == "sharpe":
        return metrics["sharpe"]
    if objective == "returns":
        return metrics["total_return"]
    if objective == "calmar":
        return metrics["calmar"]
    if objective == "composite":
        return composite_score(
            metrics["total_return"],
            metrics["sharpe"],
            metrics["max_drawdown"],
            metrics["win_rate"],
            metrics["total_trades"],
        )
    raise ValueError(f"unknown objective {objective!r}; use one of {', '.join(OBJECTIVES)}")
