"""Every setting that shaped a research run, written into each of its outputs.

A figure can be recomputed only when everything that produced it is on record: a scan
sizes entries at 10% where a backtest sizes at 95%, a forex run pays IB's forex rates,
a run from --start warmed its indicators on bars before it. Backtest, optimize,
walk-forward, compare and scan all write the same `settings` object (docs/research-metrics.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from tradd.marketdata.contracts import ContractDefinitions
from tradd.research.broker import BrokerConfig
from tradd.research.costs import commission_record as costs_record
from tradd.research.costs import costs_for
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


def commission_record(
    broker: BrokerConfig, symbols: Sequence[str], definitions: ContractDefinitions
) -> dict[str, dict[str, Any]]:
    """Each symbol's commission scheme and rates, as the run charged them (the same
    `research.costs` schemes the engine applies)."""
    return costs_record(costs_for(symbols, broker.rates, definitions))


def multiplier_record(definitions: ContractDefinitions, symbols: Sequence[str]) -> dict[str, float]:
    """Each symbol's contract multiplier (1.0 unless its contract definition says otherwise)."""
    return {symbol: float(definitions.spec(symbol).multiplier) for symbol in symbols}


def settings_for(
    bar: str,
    broker: BrokerConfig,
    risk_free_rate: float,
    basis: ReturnBasis,
    symbols: Sequence[str],
    definitions: ContractDefinitions,
    warmup: WarmupInfo | None = None,
) -> RunSettings:
    """The full record of a run on `symbols`: commissions and multipliers per symbol."""
    return run_settings(
        bar,
        broker,
        risk_free_rate,
        basis,
        commissions=commission_record(broker, symbols, definitions),
        multipliers=multiplier_record(definitions, symbols),
        warmup=warmup,
    )
