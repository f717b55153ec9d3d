"""Every setting that shaped a research run, written into each of its outputs.

A figure can be recomputed only when everything that produced it is on record: a scan
sizes entries at 10% where a backtest sizes at 95%, a forex run pays IB's forex rates,
a run from --start warmed its indicators on bars before it. Backtest, optimize,
walk-forward, compare and scan all write the same `settings` object (docs/research-metrics.md).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from tradd.research.broker import BrokerConfig
from tradd.research.metrics import ReturnBasis


@dataclass(frozen=True)
class WarmupInfo:
    """Bars fed before the measured period so indicators are warm on its first bar."""

    requested: int
    """Bars asked for (the strategy's longest indicator period, or --warmup)."""
    used: int
    """Bars there were before the start (at most `requested`), per symbol the least."""
    enough: bool
    """False when the data starts too late: the first measured bars ran cold."""
    first_measured: str = ""
    """The first bar of the measured period (ISO)."""
    needed: int = 0
    """Bars the strategy needs before its first measured bar (its longest indicator
    period - 1); `enough` is `used >= needed`."""


@dataclass(frozen=True)
class RunSettings:
    bar: str
    cash: float
    position_pct: float
    """Share of portfolio value per entry (whole units, split across symbols)."""
    slippage_pct: float
    risk_free_rate: float
    basis: ReturnBasis
    commissions: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per symbol: the commission scheme and its rates (see `research.costs`)."""
    multipliers: dict[str, float] = field(default_factory=dict)
    warmup: WarmupInfo | None = None

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["periods_per_year"] = self.basis.periods_per_year
        out["calendar"] = self.basis.calendar
        return out


def run_settings(
    bar: str,
    broker: BrokerConfig,
    risk_free_rate: float,
    basis: ReturnBasis,
    *,
    commissions: dict[str, dict[str, Any]] | None = None,
    multipliers: dict[str, float] | None = None,
    warmup: WarmupInfo | None = None,
) -> RunSettings:
    return RunSettings(
        bar,
        broker.cash,
        broker.position_pct,
        broker.slippage_pct,
        risk_free_rate,
        basis,
        dict(commissions or {}),
        dict(multipliers or {}),
        warmup,
    )
