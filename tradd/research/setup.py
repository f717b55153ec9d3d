"""Inputs shared by backtest and optimize: strategy, symbols, dates, broker, loaded bars."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import backtrader as bt

from tradd.errors import DataError, UsageError
from tradd.marketdata.bars import Bars, normalize_symbol
from tradd.marketdata.calendars import TradingCalendar
from tradd.marketdata.contracts import ContractDefinitions, load_definitions
from tradd.marketdata.store import DataStore
from tradd.research.basis import basis_for, calendars_for
from tradd.research.broker import BrokerConfig
from tradd.research.costs import CostScheme, costs_for
from tradd.research.metrics import ReturnBasis
from tradd.research.run_settings import RunSettings, WarmupInfo, settings_for
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
    warmup: int | None = None
    """Bars fed before `start` (None: as many as the strategy needs; 0: none)."""


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
    history: tuple[Bars, ...] = ()
    """Each symbol's bars up to `end` from the first one on file: warm-up comes from here."""
    measured_from: datetime | None = None
    """With a warm-up in `bars`: the first measured moment (orders before it are refused)."""
    warmup: WarmupInfo | None = None


def load_inputs(inputs: ResearchInputs, store: DataStore) -> LoadedInputs:
    if not inputs.symbols:
        raise UsageError("--symbols: give at least one symbol")
    if inputs.start and inputs.end and inputs.start > inputs.end:
        raise UsageError(f"--start {inputs.start} is after --end {inputs.end}")
    strategy = load_strategy(inputs.strategy_path)
    symbols = list(dict.fromkeys(normalize_symbol(s) for s in inputs.symbols))
    loaded = [load_with_history(store, s, inputs.bar, inputs.start, inputs.end) for s in symbols]
    definitions = load_definitions(store.directory)
    calendars = calendars_for(symbols, definitions)
    return LoadedInputs(
        inputs,
        strategy,
        [bars for _, bars in loaded],
        definitions,
        calendars,
        basis_for(inputs.bar, calendars),
        costs_for(symbols, inputs.broker.rates, definitions),
        tuple(history for history, _ in loaded),
    )


def load_with_history(
    store: DataStore, symbol: str, bar: str, start: date | None, end: date | None
) -> tuple[Bars, Bars]:
    """(history: the bars up to `end` from the first on file, the bars within [start, end]).

    One read of the file; when no bar is in range, the store's own load says so."""
    try:
        history = store.load(symbol, bar, None, end)
    except DataError:
        store.load(symbol, bar, start, end)
        raise
    bars = history.between(start, end)
    if len(bars) == 0:
        store.load(symbol, bar, start, end)  # raises DataError: no bars between ...
    return history, bars


def settings_of(loaded: LoadedInputs, warmup: WarmupInfo | None = None) -> RunSettings:
    """The record of a run on loaded inputs (backtest, optimize, walk-forward, compare)."""
    inputs = loaded.inputs
    symbols = [b.symbol for b in loaded.bars]
    return settings_for(
        inputs.bar,
        inputs.broker,
        inputs.risk_free_rate,
        loaded.basis,
        symbols,
        loaded.definitions,
        warmup,
    )
