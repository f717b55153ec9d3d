"""The worker's status as typed records: what `status` answers and every heartbeat carries.

The worker builds a `WorkerStatus` (tradd.worker.snapshot), its channel answers the
heartbeat with a `Heartbeat` (the same plus the main loop's pulse, tradd.worker.pulse), and
the supervisor validates each reply into one of these before anything reads it: an
unknown key or a wrong type is the worker speaking another protocol, refused at the door
(`parse_status`), never a `KeyError` in metrics or alerts later. The web console's API
schema is generated from these classes.

On the wire (the worker socket, and what the daemon's `status` command returns) a record
is `tradd.records.base.wire(record)`: plain JSON data with the same keys as the fields.
"""

from __future__ import annotations

from tradd.records.base import Record


class Position(Record):
    """One symbol's position in the strategy's own book (the ledger's, not the account's)."""

    quantity: float
    """Shares held (negative: short)."""
    avg_price: float
    last: float | None
    """The last trade price the worker saw, None before the first."""
    realized_pnl: float


class RiskDecisionCount(Record):
    rule: str
    """The rules hit, joined with commas ("none" when the order passed untouched)."""
    action: str
    """The verdict (APPROVED, RESIZED, BLOCKED...)."""
    count: int


class Latency(Record):
    """The bar-to-order histogram, cumulative buckets as Prometheus exposes one."""

    buckets: tuple[tuple[float, int], ...]
    """(upper bound in seconds, orders at or under it); the +Inf bucket is `count`."""
    sum: float
    count: int


class Stats(Record):
    """The worker's counters since it started (tradd.worker.stats); Prometheus counters."""

    orders: dict[str, int]
    """Orders submitted, and finished by final status label (filled, cancelled...)."""
    fills: dict[str, int]
    """Executions booked, by side."""
    risk_decisions: tuple[RiskDecisionCount, ...]
    latency: Latency


class WorkerStatus(Record):
    """One worker's state at one moment, as the worker sees it."""

    strategy: str
    uptime: float
    """Seconds since the worker's engine started."""
    connection: str
    """The IB link's state (tradd.ib.events.LinkState: connected, disconnected...)."""
    connection_reason: str
    circuit: str
    """The IB connection's circuit breaker (tradd.ib.circuit.CircuitState)."""
    trading_state: str
    """The risk gate's state (tradd.risk.TradingState: ACTIVE, REDUCING, HALTED)."""
    trading_reason: str
    blocked_reason: str
    """Why no strategy order may go out now ("" when it may)."""
    ready: bool
    """Reconciled with IB at least once."""
    positions: dict[str, Position]
    equity: float | None
    """Net liquidation value of the account, None before IB sent it."""
    daily_pnl: float | None
    drawdown_pct: float | None
    realized_pnl: float
    unrealized_pnl: float | None
    """None when a held symbol has no price yet."""
    commission: float
    last_bar: str | None
    """When the newest completed bar began (ISO time)."""
    last_bar_age: float | None
    """Market seconds since the newest completed bar ended."""
    feeds: dict[str, str]
    """Each symbol's feed health (tradd.worker.watchdog.FeedHealth)."""
    working_orders: tuple[str, ...]
    working_exposure: dict[str, float]
    flatten_running: bool
    stopping: str | None
    """Why the worker is stopping; None while it is not."""
    event_seq: int
    """The newest event's number: the supervisor's cue that there is news."""
    stats: Stats


class Heartbeat(WorkerStatus):
    """The heartbeat's answer: the status the main loop last published, plus its pulse."""

    loop_turns: int
    """Turns the worker's main loop has completed."""
    loop_age: float
    """Seconds since the main loop's last turn ended: a busy loop keeps this small."""
    backlog: int
    """Events and bars waiting for the main loop."""


def parse_status(data: object) -> WorkerStatus:
    """A worker's `status` or `heartbeat` reply as a record (a heartbeat answered before
    the main loop published anything is a plain status). Raises `ValidationError`."""
    if isinstance(data, dict) and "loop_turns" in data:
        return Heartbeat.model_validate(data)
    return WorkerStatus.model_validate(data)
