"""Settings for live trading: the IB connection, the database and the strategies to run."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator

from tradd.config.base import Section

LiveBar = Literal["5s", "1m", "5m", "15m", "30m", "1h", "1d"]
LIVE_BAR_SECONDS: dict[str, int] = {
    "5s": 5, "1m": 60, "5m": 300, "15m": 900, "30m": 1800, "1h": 3600, "1d": 86400,
}  # fmt: skip
STRATEGY_NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_]{0,23}$"


class ReconnectSettings(Section):
    initial: float = Field(1.0, gt=0)
    """First delay after a lost connection, in seconds; doubles per failed attempt."""
    maximum: float = Field(60.0, gt=0)
    jitter: float = Field(0.2, ge=0, le=1)
    """Each delay is randomised by up to this fraction, so workers do not reconnect in step."""


class CircuitSettings(Section):
    failure_threshold: int = Field(5, ge=1)
    """Consecutive failed connection attempts that open the circuit."""
    open_seconds: float = Field(300.0, gt=0)
    """How long the circuit stays open (no attempts, no trading) before one probe."""


class BrokerSettings(Section):
    library: Literal["auto", "ib_async", "ib_insync"] = "auto"
    """IB client library: ib_async, or ib_insync 0.9.86 (auto: ib_async when installed)."""
    host: str = "127.0.0.1"
    port: int = Field(4002, ge=1, le=65535)
    """IB Gateway: 4001 live, 4002 paper; `tradd simgw` listens on 4002 by default."""
    account: str = ""
    """Account to trade; empty means the gateway's first managed account."""
    connect_timeout: float = Field(10.0, gt=0)
    request_timeout: float = Field(30.0, gt=0)
    reconnect: ReconnectSettings = ReconnectSettings()
    circuit: CircuitSettings = CircuitSettings()
    probe_interval: float = Field(10.0, gt=0)
    """Seconds between liveness probes (reqCurrentTime) on an otherwise quiet connection."""
    probe_timeout: float = Field(5.0, gt=0)
    """A probe unanswered this long means a stalled gateway: drop the socket, reconnect."""
    stale_factor: float = Field(6.0, ge=1)
    """A feed whose 5-second real-time bars stop for this many bar lengths (6 x 5 s = 30 s)
    while its market is open is stale: resubscribed once, then no orders until bars return."""
    market_clock: Literal["system", "gateway"] = "system"
    """`system`: market time is this machine's clock (real IB). `gateway`: follow the
    gateway's clock (`tradd simgw` replaying at an accelerated speed)."""
    download_client_id: int = Field(900, ge=0)
    """clientId `tradd data download` connects with."""


class WorkerSettings(Section):
    heartbeat: float = Field(1.0, gt=0)
    """Longest the worker's loop sleeps with nothing happening (checks, snapshots)."""
    commission_wait: float = Field(2.0, ge=0)
    """How long a fill waits for its commission report before it is booked without one."""
    bar_sync_grace: float = Field(0.25, ge=0)
    """How long a completed bar waits for the same period's bar of the strategy's other
    symbols, so the strategy sees them in one `next()` as in a backtest."""
    flatten_timeout: float = Field(30.0, gt=0)
    """A flatten that is not confirmed flat within this many seconds reports failure."""
    snapshot_interval: float = Field(60.0, gt=0)
    """Seconds between equity and position snapshots in the database."""
    channel_dir: Path | None = None
    """Where each worker's command socket lives (default: <state_dir>/run)."""
    channel_max_connections: int = Field(16, ge=2)
    """Connections a worker's command socket serves at once; one more sheds the one idle
    longest (the supervisor's heartbeat always gets in)."""
    channel_idle_timeout: float = Field(60.0, gt=0)
    """Seconds a connection to a worker's socket may stay silent before it is closed."""


class DatabaseSettings(Section):
    url: SecretStr | None = None
    """SQLAlchemy URL, e.g. postgresql+psycopg://tradd:PASSWORD@host/tradd (may hold a
    password, hence secret). Default: a SQLite file `tradd.db` in the state directory."""
    echo: bool = False


class StrategySettings(Section):
    """One live strategy: what runs, on which symbols, under which IB clientId."""

    name: str = Field(pattern=STRATEGY_NAME_PATTERN)
    """Identifier used in orderRef, logs and `tradctl`; letters, digits and _."""
    strategy: str
    """Import path of the Backtrader strategy class, e.g. strategies.sma_cross.SmaCross."""
    symbols: tuple[str, ...] = Field(min_length=1)
    client_id: int = Field(ge=1)
    bar: LiveBar = "1m"
    """The strategy's bar size: 5-second real-time bars are aggregated to it."""
    params: dict[str, Any] = Field(default_factory=dict)
    params_file: Path | None = None
    """An exported best-parameters file (`tradd optimize` output); `params` win over it."""
    position_pct: float = Field(10.0, gt=0, le=100)
    """Share of net liquidation each entry uses, split across the symbols."""
    warmup_bars: int = Field(200, ge=0)
    """History loaded before going live, so indicators are warm."""
    ticks: bool = False
    """Also stream quotes (bid/ask/last) to the feed."""
    cancel_on_stop: bool = True
    flatten_on_stop: bool = False
    risk: dict[str, Any] = Field(default_factory=dict)
    """Overrides of `[risk]` for this strategy, merged key by key."""
    enabled: bool = True
    auto_promote: bool = False
    """Apply a parameter proposal that passes `[promotion]`'s gates without approval
    (meant for paper accounts)."""

    @field_validator("symbols")
    @classmethod
    def _upper_unique(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        symbols = tuple(s.strip().upper() for s in value)
        if any(not s for s in symbols):
            raise ValueError("empty symbol")
        if len(set(symbols)) != len(symbols):
            raise ValueError(f"duplicate symbol in {list(symbols)}")
        return symbols


def check_unique_strategies(strategies: tuple[StrategySettings, ...]) -> None:
    """Names and clientIds must be unique: both identify a worker's orders."""
    for attr in ("name", "client_id"):
        seen: set[Any] = set()
        for s in strategies:
            value = getattr(s, attr)
            if value in seen:
                raise ValueError(
                    f"strategies: two entries with {attr} = {value!r} (each needs its own)"
                )
            seen.add(value)
