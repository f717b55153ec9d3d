"""Worker statuses as a worker builds them, for tests that need one (metrics, alerts...)."""

from __future__ import annotations

from typing import Any

from tradd.records.status import Heartbeat, WorkerStatus
from tradd.worker.stats import WorkerStats


def status_data(**overrides: Any) -> dict[str, Any]:
    """A running worker's status on the wire (plain JSON data), with `overrides`."""
    data: dict[str, Any] = {
        "strategy": "alpha", "uptime": 42.0, "connection": "connected",
        "connection_reason": "connected", "circuit": "closed", "trading_state": "ACTIVE",
        "trading_reason": "", "blocked_reason": "", "ready": True,
        "positions": {"GOOG": {"quantity": 10.0, "avg_price": 430.0, "last": 431.5,
                               "realized_pnl": 0.0}},
        "equity": 100_000.0, "daily_pnl": 0.0, "drawdown_pct": 0.0, "realized_pnl": 0.0,
        "unrealized_pnl": 15.0, "commission": 1.0, "last_bar": "2006-01-10T14:31:00+00:00",
        "last_bar_age": 7.5, "feeds": {"GOOG": "live"}, "working_orders": [],
        "working_exposure": {}, "flatten_running": False, "stopping": None, "event_seq": 0,
        "stats": WorkerStats().record().model_dump(mode="json"),
    }  # fmt: skip
    return {**data, **overrides}


def status(**overrides: Any) -> WorkerStatus:
    return WorkerStatus.model_validate(status_data(**overrides))


def heartbeat(**overrides: Any) -> Heartbeat:
    pulse = {"loop_turns": 10, "loop_age": 0.1, "backlog": 0}
    return Heartbeat.model_validate(status_data(**{**pulse, **overrides}))
