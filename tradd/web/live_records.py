"""The bodies of the live API (`/api/v1/live`) and of the audit (`/api/v1/audit`).

A strategy is what `tradctl status` shows of it, read from the daemon's `status` reply
(tradd.records.view `view_dict`): the supervisor's facts (state, restarts, uptime) and
the worker's latest snapshot (connection, trading state, positions, P&L, drawdown, bar
age). A worker that is not RUNNING says so (`live` false) and its positions are the last
it reported (`positions_as_of`), which nothing watches now.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from tradd.records.status import Position
from tradd.web.records import Body


class LiveStrategy(Body):
    name: str
    state: str
    """The worker's lifecycle state: STOPPED STARTING RUNNING BACKOFF STOPPING EXITED FATAL."""
    reason: str
    """Why it is in that state (a crash loop, a config error), "" when nothing to say."""
    strategy_class: str | None
    symbols: list[str]
    bar: str | None
    pid: int | None
    restarts: int
    uptime: float | None
    heartbeat_age: float | None
    live: bool
    """The worker is RUNNING and what follows is its latest snapshot."""
    connection: str
    """connected, disconnected, ...; "not running" or "unknown" when not live."""
    trading_state: str
    """ACTIVE, REDUCING (paused: exits only), HALTED; "unknown" when not live."""
    trading_reason: str
    ready: bool
    """Reconciled with IB at least once."""
    positions: dict[str, Position]
    positions_as_of: str | None
    """When not live: when the positions shown were last reported."""
    pnl: float | None
    """The strategy's own P&L (realized + unrealized, from its fills)."""
    daily_pnl: float | None
    """The account's P&L today (shared by the account's strategies)."""
    equity: float | None
    drawdown_pct: float | None
    bar_age: float | None
    """Market seconds since the newest completed bar ended."""
    last_bar: str | None


class LiveStatus(Body):
    """`GET /api/v1/live/strategies`."""

    status_line: str
    supervisor: dict[str, Any]
    """The daemon's health: ok, ready, not_running, disconnected, pid, uptime."""
    strategies: list[LiveStrategy]


class LiveAction(Body):
    """The reply to pause and resume."""

    strategy: str
    action: str
    trading_state: str | None
    reason: str | None
    requested_by: str


class FlattenRequest(Body):
    """`POST /api/v1/live/strategies/{name}/flatten` and `POST /api/v1/live/flatten`."""

    confirm: bool = Field(
        description="Must be true: flattening closes positions and halts the strategy"
    )


class FlattenReply(Body):
    ok: bool
    """Every strategy flattened was confirmed flat (and the account sweep, for all)."""
    requested_by: str
    strategies: dict[str, Any]
    """Per strategy: ok, path (worker or emergency), message and per-symbol results."""
    sweep: dict[str, Any] | None = None
    text: str
    """What `tradctl flatten` prints."""


class LiveEvent(Body):
    seq: int
    at: str
    kind: str
    severity: str
    message: str
    data: dict[str, Any] = Field(default_factory=dict)
    cause: str | None = None


class LiveEvents(Body):
    """`GET /api/v1/live/events`: the supervisor's events after `since`, oldest first."""

    events: list[LiveEvent]
    next_since: int
    """Pass it as `since` to get only newer ones."""


class AlertDelivery(Body):
    channel: str
    status: str
    attempts: int
    error: str | None


class LiveAlert(Body):
    id: int
    created_at: str
    kind: str
    severity: str
    strategy: str | None
    subject: str
    suppressed: int
    deliveries: list[AlertDelivery]


class LiveAlerts(Body):
    """`GET /api/v1/live/alerts`: the latest alerts (the console's too), newest first."""

    alerts: list[LiveAlert]


class AuditItem(Body):
    id: int
    at: datetime
    user: str
    action: str
    request: dict[str, Any]
    result: dict[str, Any]
    ok: bool


class AuditPage(Body):
    """`GET /api/v1/audit`: newest first."""

    entries: list[AuditItem]
