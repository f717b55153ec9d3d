"""The bodies of what the optimizer page asks beyond the specification's six endpoints:
the symbols that have data, the strategies to choose from, and a scan row's equity curve.

Answers only (frozen, unknown fields refused like every API body): the page validates
nothing the server does not, it only flags early what the server would refuse.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import Field

from tradd.web.records import Body


class SymbolData(Body):
    symbol: str
    first: date
    """The first and last day with a bar (exchange-local)."""
    last: date
    bars: int


class DataSymbols(Body):
    """`GET /api/v1/data/symbols`: what an analysis can run on."""

    bar: str
    """`[data] default_bar`: the bar size analyses use."""
    symbols: list[SymbolData]
    unreadable: dict[str, str] = Field(default_factory=dict)
    """Files of that bar size that would not load: symbol -> the store's reason."""


class StrategyInfo(Body):
    path: str
    """The dotted path analyze takes (`strategies.sma_cross.SmaCross`)."""
    name: str
    summary: str
    """The docstring's first paragraph, on one line."""
    params: dict[str, Any]
    """Default parameters: what an analysis runs."""


class StrategyCatalog(Body):
    """`GET /api/v1/strategies`: the shipped strategies (`--strategies all`)."""

    strategies: list[StrategyInfo]
    error: str | None = None
    """Why the catalog is empty (a strategy module that does not import), if it is."""


class EquitySeries(Body):
    """`GET /api/v1/optimizer/equity/{job_id}/{symbol}`: one scan row's daily equity."""

    job_id: str
    symbol: str
    strategy: str
    best: bool
    """True: the symbol's best strategy (the default)."""
    dates: list[date]
    values: list[float]
    initial_capital: float | None
    max_position_pct: float | None
    """The analysis' own position size: what execute sends by default."""
