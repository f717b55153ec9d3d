"""The worker's state in one plain dict: what `status` answers and heartbeats carry."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tradd.worker.engine import WorkerEngine


def status_snapshot(engine: WorkerEngine) -> dict[str, Any]:
    store, book, account = engine.store, engine.manager.book, engine.account
    prices = dict(store.last_price) if store else {}
    gate = engine.manager.gate
    positions = {
        symbol: {
            "quantity": p.quantity,
            "avg_price": p.avg_price,
            "last": prices.get(symbol),
            "realized_pnl": p.realized_pnl,
        }
        for symbol, p in book.positions().items()
    }
    last_bar = None
    if store is not None:
        ends = [f.last_bar.start for f in store.feeds.values() if f.last_bar is not None]
        last_bar = max(ends).isoformat() if ends else None
    b = account.baselines
    equity = account.net_liquidation
    drawdown = None
    if b.equity_peak and math.isfinite(equity):
        drawdown = max(0.0, (b.equity_peak - equity) / b.equity_peak * 100.0)
    return {
        "strategy": engine.strategy.name,
        "uptime": engine._monotonic() - engine.started,
        "connection": str(engine.link.state),
        "connection_reason": engine.link.manager.reason,
        "circuit": str(engine.link.manager.circuit),
        "trading_state": str(gate.state),
        "trading_reason": gate.reason,
        "blocked_reason": engine.blocked_reason(),
        "ready": engine.ready_count > 0,
        "positions": positions,
        "equity": equity if math.isfinite(equity) else None,
        "daily_pnl": account.daily_pnl,
        "drawdown_pct": drawdown,
        "realized_pnl": book.realized_pnl,
        "unrealized_pnl": book.unrealized_known(prices),
        "commission": book.commission,
        "last_bar": last_bar,
        "feeds": {s: str(h) for s, h in engine.watchdog.health.items()},
        "working_orders": sorted(engine.manager.working.working()),
        "flatten_running": engine.operator.flatten is not None,
        "stopping": engine.operator.stopping or None,
    }
