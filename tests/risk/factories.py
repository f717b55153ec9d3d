"""Builders for risk tests: settings with only the rules under test, portfolios, orders."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from tradd.config.risk import RiskSettings
from tradd.risk import OrderRequest, Portfolio, Rule

NOW = datetime(2024, 3, 1, 15, 0, tzinfo=UTC)


def only(**sections: Any) -> RiskSettings:
    """Every rule off except those given, e.g. only(max_order_value={"limit": 5000})."""
    off: dict[str, Any] = {rule.key: {"limit": None} for rule in Rule}
    off["max_daily_loss"] = {"limit": None, "limit_pct": None}
    return RiskSettings(**{**off, **sections})


def rule(limit: float, action: str, **extra: Any) -> dict[str, Any]:
    return {"limit": limit, "action": action, **extra}


def portfolio(
    net_liquidation: float = 100_000.0,
    positions: Mapping[str, float] | None = None,
    prices: Mapping[str, float] | None = None,
    gross: float | None = None,
    now: datetime = NOW,
    day_start: float | None = None,
    peak: float | None = None,
) -> Portfolio:
    """Gross exposure defaults to the positions valued at `prices`."""
    held = dict(positions or {})
    marks = dict(prices or {})
    if gross is None:
        gross = sum(abs(q) * marks.get(s, 0.0) for s, q in held.items())
    return Portfolio(now, net_liquidation, held, marks, gross, day_start, peak)


def buy(symbol: str, quantity: float, price: float, system: bool = False) -> OrderRequest:
    return OrderRequest(symbol, "BUY", quantity, price, system)


def sell(symbol: str, quantity: float, price: float, system: bool = False) -> OrderRequest:
    return OrderRequest(symbol, "SELL", quantity, price, system)
