"""The worker's state as one `WorkerStatus` record: what `status` answers and heartbeats carry.

`stats` holds the worker's counters since it started (`WorkerStats.record`: orders by
status, fills by side, risk decisions, the bar-to-order latency histogram), which the
supervisor exports as Prometheus counters; `last_bar_age` is the market seconds since the
newest completed bar ended. Both are cheap: the snapshot is polled every second.

It reads the worker through `StatusSource`, the engine's public face, and never imports
the engine: the engine's operator answers `status` with this module.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from tradd.records.status import Position, WorkerStatus

if TYPE_CHECKING:
    from tradd.config.live import StrategySettings
    from tradd.ib.link import IBLink
    from tradd.ib.store import IBStore
    from tradd.worker.account import AccountState
    from tradd.worker.events import EventLog
    from tradd.worker.orders import OrderManager
    from tradd.worker.watchdog import StalenessWatchdog


class OperatorState(Protocol):
    @property
    def flatten(self) -> object | None:
        """The flatten under way, None when there is none."""

    @property
    def stopping(self) -> str:
        """Why the worker is stopping ("" while it is not)."""


class StatusSource(Protocol):
    """What a status is built from (the worker engine provides it)."""

    @property
    def strategy(self) -> StrategySettings: ...
    @property
    def store(self) -> IBStore | None: ...
    @property
    def manager(self) -> OrderManager: ...
    @property
    def account(self) -> AccountState: ...
    @property
    def link(self) -> IBLink: ...
    @property
    def watchdog(self) -> StalenessWatchdog: ...
    @property
    def events(self) -> EventLog: ...
    @property
    def operator(self) -> OperatorState: ...
    @property
    def ready_count(self) -> int: ...
    def blocked_reason(self) -> str: ...
    def market_now(self) -> datetime: ...
    def uptime(self) -> float: ...


def status_snapshot(source: StatusSource) -> WorkerStatus:
    store, book, account = source.store, source.manager.book, source.account
    prices = dict(store.last_price) if store else {}
    gate = source.manager.gate
    positions = {
        symbol: Position(
            quantity=p.quantity, avg_price=p.avg_price, last=prices.get(symbol),
            realized_pnl=p.realized_pnl,
        )
        for symbol, p in book.positions().items()
    }  # fmt: skip
    last_bar, last_bar_age = _last_bar(source)
    b = account.baselines
    equity = account.net_liquidation
    drawdown = None
    if b.equity_peak and math.isfinite(equity):
        drawdown = max(0.0, (b.equity_peak - equity) / b.equity_peak * 100.0)
    link = source.link
    return WorkerStatus(
        strategy=source.strategy.name,
        uptime=source.uptime(),
        connection=str(link.state),
        connection_reason=link.manager.reason,
        circuit=str(link.manager.circuit),
        trading_state=str(gate.state),
        trading_reason=gate.reason,
        blocked_reason=source.blocked_reason(),
        ready=source.ready_count > 0,
        positions=positions,
        equity=equity if math.isfinite(equity) else None,
        daily_pnl=account.daily_pnl,
        drawdown_pct=drawdown,
        realized_pnl=book.realized_pnl,
        unrealized_pnl=book.unrealized_known(prices),
        commission=book.commission,
        last_bar=last_bar,
        last_bar_age=last_bar_age,
        feeds={s: str(h) for s, h in source.watchdog.health.items()},
        working_orders=tuple(sorted(source.manager.working.working())),
        working_exposure=source.manager.working.exposure(),
        flatten_running=source.operator.flatten is not None,
        stopping=source.operator.stopping or None,
        event_seq=source.events.seq,
        stats=source.manager.stats.record(),
    )


def _last_bar(source: StatusSource) -> tuple[str | None, float | None]:
    """When the newest completed bar began (ISO), and market seconds since it ended."""
    store = source.store
    bars = [f.last_bar for f in store.feeds.values() if f.last_bar is not None] if store else []
    if not bars:
        return None, None
    end = max(b.start + timedelta(seconds=b.seconds) for b in bars)
    age = max(0.0, (source.market_now() - end).total_seconds())
    return max(b.start for b in bars).isoformat(), age
