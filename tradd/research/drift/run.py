"""`tradd drift`'s work: read what live did, replay it, compare, report, record.

The command (tradd/cli/drift_cmd.py) parses and tracks the run; this module does the
rest, each step in the module named after it (docs/drift.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from tradd.config.live import StrategySettings
from tradd.config.settings import Settings
from tradd.errors import ConfigError, DataError, StrategyError, TraddError, UsageError
from tradd.marketdata.contracts import load_definitions
from tradd.persistence.attribution import attribute as attribute_account
from tradd.persistence.drift_results import DriftResult, DriftResults, NewDriftResult
from tradd.persistence.ledger import Ledger
from tradd.persistence.live_bars import LiveBars, LiveSession
from tradd.research.drift import report
from tradd.research.drift.attribute import attribute
from tradd.research.drift.bars import SelectedBars, select
from tradd.research.drift.match import LiveSignal, live_signals, pair
from tradd.research.drift.replay import ReplayOrder, ReplaySetup, replay
from tradd.strategy_loader import load_strategy

KEEP_WARMUP = 2000
"""Warm-up bars kept per symbol at most (what a live worker keeps of each line)."""


@dataclass(frozen=True)
class DriftRequest:
    strategy: str
    start: date | None
    end: date | None
    output: Path
    run_id: Callable[[], str | None] = lambda: None
    """The tracked run's id, asked once the result is stored (the run then starts)."""


@dataclass(frozen=True)
class DriftOutcome:
    document: dict[str, Any]
    html: Path
    json: Path
    result: DriftResult


def strategy_of(settings: Settings, name: str) -> StrategySettings:
    try:
        return settings.strategy(name)
    except KeyError as exc:
        raise ConfigError(f"strategy: {exc.args[0]}") from None


def run_drift(
    settings: Settings,
    sessions: sessionmaker[Session],
    request: DriftRequest,
    clock: Callable[[], datetime],
) -> DriftOutcome:
    config = strategy_of(settings, request.strategy)
    definitions = load_definitions(settings.data.dir)
    zones = {s: definitions.spec(s).time_zone for s in config.symbols}
    zone = ZoneInfo(zones[config.symbols[0]])
    store = LiveBars(sessions)
    first, last = _period(store, request, zone)
    start, end = _utc(first, zone), _utc(last + timedelta(days=1), zone)
    ids = store.session_ids(config.name, start, end)
    if not ids:
        raise DataError(f"{config.name}: no recorded live bars from {first} to {last}")
    keep = max(KEEP_WARMUP, 2 * config.warmup_bars)
    chosen = select(store.session_bars(ids, end), start, keep, zones)
    if not chosen.in_period:
        raise DataError(f"{config.name}: no recorded live bars from {first} to {last}")
    recorded = [s for s in store.sessions(config.name) if s.id in ids]
    session = recorded[0]
    ledger = Ledger(sessions, config.name)
    cash = _starting_equity(ledger, chosen, settings.backtest.cash)
    setup = _setup(session, cash, definitions, zones)
    replayed = [o for o in _replay(setup, chosen) if o.bar_start >= start]
    since = min(b.received_at for b in chosen.in_period)
    live = live_signals(
        chosen.in_period, [o for o in ledger.orders() if o.created_at >= since],
        ledger.fills(), ledger.risk_decisions(since=since),
    )  # fmt: skip
    pairs = pair(live, replayed, session.bar_seconds)
    marks = _marks(chosen)
    attribution = attribute(pairs, marks, chosen.offline)
    curves = {
        "live": _curve(chosen, cash, [_live_fill(s) for s in live]),
        "replay": _curve(chosen, cash, [_fill(o) for o in replayed]),
    }  # fmt: skip
    header = _header(config, session, recorded, first, last, cash, chosen)
    doc = report.document(header, attribution, curves)
    doc["attribution"] = _account_attribution(settings, sessions, definitions, start, end)
    html = report.write(request.output, doc, curves)
    result = DriftResults(sessions, clock).add(
        NewDriftResult(
            config.name,
            request.run_id(),
            first,
            last,
            attribution.live_pnl,
            attribution.replay_pnl,
            attribution.components,
            str(html.resolve()),
            cash,
        )
    )
    return DriftOutcome(doc, html, request.output / report.JSON_FILE, result)


def _account_attribution(
    settings: Settings,
    sessions: sessionmaker[Session],
    definitions: Any,
    start: datetime,
    end: datetime,
) -> dict[str, Any]:
    """Every configured strategy's realized, unrealized and commissions over the period
    on the shared account, and what none of them explains (manual trades, fees)."""
    names = [s.name for s in settings.strategies]
    multipliers = {
        symbol: definitions.spec(symbol).multiplier
        for s in settings.strategies for symbol in s.symbols
    }  # fmt: skip
    return attribute_account(sessions, names, start, end, multipliers=multipliers).as_dict()


def _replay(setup: ReplaySetup, chosen: SelectedBars) -> tuple[ReplayOrder, ...]:
    """The replay's orders; the strategy failing in it is one line (exit 1), not a trace."""
    try:
        return replay(setup, chosen.replay).orders
    except TraddError:
        raise
    except Exception as exc:
        name = f"{setup.strategy.__module__}.{setup.strategy.__name__}"
        raise StrategyError(f"{name} failed in the replay: {exc!r}") from exc


def _period(store: LiveBars, request: DriftRequest, zone: ZoneInfo) -> tuple[date, date]:
    """--from/--to; missing: the exchange day of the newest bar recorded."""
    if request.start and request.end and request.start > request.end:
        raise UsageError(f"--from {request.start} is after --to {request.end}")
    last = request.end
    if last is None:
        newest = store.newest(request.strategy)
        last = newest.astimezone(zone).date() if newest else (request.start or date.today())
    return (request.start or last), last


def _utc(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


def _setup(
    session: LiveSession, cash: float, definitions: Any, zones: Mapping[str, str]
) -> ReplaySetup:
    try:
        cls = load_strategy(session.strategy_path)
    except UsageError as exc:
        raise ConfigError(f"strategies.{session.strategy}.strategy: {exc}") from None
    specs = {s: definitions.spec(s) for s in session.symbols}
    return ReplaySetup(
        cls, session.params, session.position_pct, session.commission, cash,
        {s: spec.min_tick for s, spec in specs.items()}, zones,
        {s: spec.multiplier for s, spec in specs.items()},
    )  # fmt: skip


def _starting_equity(ledger: Ledger, chosen: SelectedBars, default: float) -> float:
    """The account's net liquidation when the period's first bar was read (else the
    backtest cash): the replay starts with it, and sizes from it as live did."""
    first = min(b.received_at for b in chosen.in_period)
    before = [e for e in ledger.equity_history() if e.at <= first]
    after = ledger.equity_history(since=first)
    snapshot = before[-1] if before else (after[0] if after else None)
    return snapshot.net_liquidation if snapshot is not None else default


def _marks(chosen: SelectedBars) -> dict[str, float]:
    last: dict[str, tuple[datetime, float]] = {}
    for bar in chosen.in_period:
        if bar.symbol not in last or bar.start >= last[bar.symbol][0]:
            last[bar.symbol] = (bar.start, bar.close)
    return {symbol: close for symbol, (_, close) in last.items()}


Fill = tuple[datetime, str, str, float, float | None, float]


def _live_fill(s: LiveSignal) -> Fill:
    return (s.bar_start, s.symbol, s.side, s.filled, s.price, s.commission)


def _fill(o: ReplayOrder) -> Fill:
    return (o.bar_start, o.symbol, o.side, o.filled, o.price, o.commission)


def _curve(
    chosen: SelectedBars, start: float, fills: Sequence[Fill]
) -> list[tuple[datetime, float]]:
    """Equity from `start` with `fills` marked at each bar's close (a fill counts from its
    signal's bar): live and replay on one scale, apart only by what the report explains."""
    bars = sorted(chosen.in_period, key=lambda b: b.start)
    done = sorted((f for f in fills if f[3] and f[4] is not None), key=lambda f: f[0])
    closes: dict[str, float] = {}
    held: dict[str, float] = {}
    cash = start
    curve: list[tuple[datetime, float]] = []
    i = 0
    for bar in bars:
        closes[bar.symbol] = bar.close
        while i < len(done) and done[i][0] <= bar.start:
            _, symbol, side, qty, price, commission = done[i]
            q = qty if side == "BUY" else -qty
            held[symbol] = held.get(symbol, 0.0) + q
            cash -= q * float(price or 0.0) + commission
            i += 1
        value = cash + sum(q * closes.get(s, 0.0) for s, q in held.items())
        if curve and curve[-1][0] == bar.start:
            curve[-1] = (bar.start, value)
        else:
            curve.append((bar.start, value))
    return curve


def _header(
    config: StrategySettings, session: LiveSession, recorded: Sequence[LiveSession],
    first: date, last: date, cash: float, chosen: SelectedBars,
) -> dict[str, Any]:  # fmt: skip
    differing = [s.id for s in recorded if dict(s.params) != dict(session.params)]
    return {
        "strategy": config.name, "strategy_path": session.strategy_path,
        "params": dict(session.params), "symbols": list(session.symbols),
        "bar_seconds": session.bar_seconds, "position_pct": session.position_pct,
        "commission": dict(session.commission),
        "period": {"from": first.isoformat(), "to": last.isoformat()},
        "starting_equity": cash,
        "bars": {"live": chosen.live_count, "offline": len(chosen.offline),
                 "warmup": chosen.warmup_count},
        "sessions": [{"id": s.id, "started_at": s.started_at.isoformat()} for s in recorded],
        "sessions_with_other_params": differing,
        "offline": chosen.offline_periods,
        "fill_model": "market orders at the signal bar's close plus one min_tick (the touch)",
    }  # fmt: skip
