"""Inputs shared by backtest and optimize: strategy, symbols, dates, broker, loaded bars."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import backtrader as bt

from tradd.errors import UsageError
from tradd.marketdata.bars import Bars, normalize_symbol
from tradd.marketdata.calendars import TradingCalendar
from tradd.marketdata.contracts import ContractDefinitions, load_definitions
from tradd.marketdata.store import DataStore
from tradd.research.basis import basis_for, calendars_for
from tradd.research.broker import BrokerConfig
from tradd.research.costs import CostScheme, costs_for
from tradd.research.metrics import ReturnBasis
from tradd.strategy_loader import load_strategy


@dataclass(frozen=True)
class ResearchInputs:
    strategy_path: str
    symbols: tuple[str, ...]
    start: date | None
    end: date | None
    bar: str
    broker: BrokerConfig
    risk_free_rate: float = 0.0


@dataclass(frozen=True)
class LoadedInputs:
    inputs: ResearchInputs
    strategy: type[bt.Strategy]
    bars: list[Bars]
    definitions: ContractDefinitions = field(default_factory=lambda: ContractDefinitions({}))
    calendars: tuple[TradingCalendar, ...] = ()
    basis: ReturnBasis = field(default_factory=ReturnBasis)
    """How returns are measured and annualised (from the symbols' calendars)."""
    costs: dict[str, CostScheme] = field(default_factory=dict)
    """Each symbol's commission scheme and multiplier (from its definition); give it to
    `BacktestEngine(costs=...)`."""


def load_inputs(inputs: ResearchInputs, store: DataStore) -> LoadedInputs:
    if not inputs.symbols:
        raise UsageError("--symbols: give at least one symbol")
    if inputs.start and inputs.end and inputs.start > inputs.end:
        raise UsageError(f"--start {inputs.start} is after --end {inputs.end}")
    strategy = load_strategy(inputs.strategy_path)
    symbols = list(dict.fromkeys(normalize_symbol(s) for s in inputs.symbols))
    bars = [store.load(s, inputs.bar, inputs.start, inputs.end) for s in symbols]
    definitions = load_definitions(store.directory)
    calendars = calendars_for(symbols, definitions)
    costs = costs_for(symbols, inputs.broker.rates, definitions)
    basis = basis_for(inputs.bar, calendars)
    return LoadedInputs(inputs, strategy, bars, definitions, calendars, basis, costs)
