"""The worker's state in one plain dict: what `status` answers and heartbeats carry.

`stats` holds the worker's counters since it started (`WorkerStats.as_dict`: orders by
status, fills by side, risk decisions, the bar-to-order latency histogram), which the
supervisor exports as Prometheus counters; `last_bar_age` is the market seconds since the
newest completed bar ended. Both are cheap: the snapshot is polled every second.
"""

from __future__ import annotations

import math
from datetime import timedelta
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
    last_bar, last_bar_age = None, None
    if store is not None:
        bars = [f.last_bar for f in store.feeds.values() if f.last_bar is not None]
        if bars:
            last_bar = max(b.start for b in bars).isoformat()
            end = max(b.start + timedelta(seconds=b.seconds) for b in bars)
            last_bar_age = max(0.0, (engine._market_now() - end).total_seconds())
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
        "last_bar_age": last_bar_age,  # market seconds since the newest bar ended
        "feeds": {s: str(h) for s, h in engine.watchdog.health.items()},
        "working_orders": sorted(engine.manager.working.working()),
        "working_exposure": engine.manager.working.exposure(),
        "flatten_running": engine.operator.flatten is not None,
        "stopping": engine.operator.stopping or None,
        "event_seq": engine.events.seq,
        "stats": engine.manager.stats.as_dict(),  # counters since the worker started
    }
