"""Plain, frozen values going into and coming out of the ledger.

The ledger never hands out ORM objects: they are tied to a session, lazily loaded and
mutable, so a worker holding one could trigger SQL (or a DetachedInstanceError) far from
the transaction that produced it. These records are safe to keep, compare and pass
between threads. Validation happens here, before any transaction starts, so a bad order
fails at once with a clear message instead of as an IntegrityError.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime

from tradd.persistence.models import (
    ORDER_TYPES,
    SIDES,
    SNAPSHOT_SOURCES,
    TERMINAL_STATUSES,
    TIFS,
    TRADING_STATES,
)


def _check_choice(what: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{what} {value!r}: must be one of {', '.join(allowed)}")


def _check_positive(what: str, value: float) -> None:
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{what} {value!r}: must be a positive number")


def _check_aware(what: str, value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} {value.isoformat()}: must be timezone-aware")


def check_source(source: str) -> None:
    _check_choice("snapshot source", source, SNAPSHOT_SOURCES)


def check_trading_state(state: str) -> None:
    _check_choice("trading state", state, TRADING_STATES)


@dataclass(frozen=True)
class NewOrder:
    """An order the worker is about to send; the ledger gives it its orderRef."""

    symbol: str
    side: str
    quantity: float
    order_type: str
    limit_price: float | None = None
    stop_price: float | None = None
    tif: str = "DAY"
    parent_ref: str | None = None
    """orderRef of the bracket's parent, for its take-profit and stop children."""
    oca_group: str | None = None

    def __post_init__(self) -> None:
        if not self.symbol.strip():
            raise ValueError("order without a symbol")
        _check_choice("side", self.side, SIDES)
        _check_choice("order type", self.order_type, ORDER_TYPES)
        _check_choice("time in force", self.tif, TIFS)
        _check_positive("quantity", self.quantity)
        needs_limit = self.order_type in ("LMT", "STP LMT")
        needs_stop = self.order_type in ("STP", "STP LMT")
        if needs_limit != (self.limit_price is not None):
            raise ValueError(
                f"{self.order_type} order: limit price {'required' if needs_limit else 'not allowed'}"
            )
        if needs_stop != (self.stop_price is not None):
            raise ValueError(
                f"{self.order_type} order: stop price {'required' if needs_stop else 'not allowed'}"
            )
        for what, price in (("limit price", self.limit_price), ("stop price", self.stop_price)):
            if price is not None:
                _check_positive(what, price)


@dataclass(frozen=True)
class OrderRecord:
    """One row of `orders`: the order as intended plus its latest state at IB."""

    id: int
    order_ref: str
    strategy: str
    seq: int
    symbol: str
    side: str
    quantity: float
    order_type: str
    limit_price: float | None
    stop_price: float | None
    tif: str
    parent_ref: str | None
    oca_group: str | None
    ib_order_id: int | None
    perm_id: int | None
    status: str
    filled: float
    avg_fill_price: float | None
    reason: str | None
    """The last message that came with a status change (e.g. IB's rejection text)."""
    created_at: datetime
    updated_at: datetime

    @property
    def remaining(self) -> float:
        return max(self.quantity - self.filled, 0.0)

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES


@dataclass(frozen=True)
class OrderEventRecord:
    order_ref: str
    at: datetime
    status: str
    filled: float
    remaining: float
    avg_fill_price: float | None
    message: str | None


@dataclass(frozen=True)
class FillRecord:
    """One execution, with a positive quantity; `side` says which way."""

    exec_id: str
    order_ref: str | None
    symbol: str
    side: str
    quantity: float
    price: float
    executed_at: datetime
    ib_order_id: int | None = None
    perm_id: int | None = None
    account: str | None = None
    commission: float | None = None
    realized_pnl: float | None = None

    def __post_init__(self) -> None:
        if not self.exec_id:
            raise ValueError("fill without an exec id")
        _check_choice("side", self.side, SIDES)
        _check_positive("fill quantity", self.quantity)
        _check_aware("execution time", self.executed_at)

    @property
    def signed_quantity(self) -> float:
        return self.quantity if self.side == "BUY" else -self.quantity


@dataclass(frozen=True)
class PositionRow:
    """One symbol's position, as handed to `Ledger.snapshot_positions`."""

    symbol: str
    quantity: float
    avg_cost: float | None = None
    market_price: float | None = None
    market_value: float | None = None
    unrealized_pnl: float | None = None


@dataclass(frozen=True)
class PositionSnapshotRecord:
    strategy: str
    at: datetime
    source: str
    symbol: str
    quantity: float
    avg_cost: float | None
    market_price: float | None
    market_value: float | None
    unrealized_pnl: float | None


@dataclass(frozen=True)
class EquitySnapshotRecord:
    strategy: str
    at: datetime
    net_liquidation: float
    cash: float | None
    gross_exposure: float | None
    realized_pnl: float | None
    unrealized_pnl: float | None
    daily_pnl: float | None


@dataclass(frozen=True)
class RiskDecisionRecord:
    strategy: str
    at: datetime
    action: str
    reason: str
    trading_state: str
    rule: str | None
    order_ref: str | None
    symbol: str | None
    side: str | None
    requested_qty: float | None
    approved_qty: float | None


@dataclass(frozen=True)
class ConnectionEventRecord:
    strategy: str
    at: datetime
    kind: str
    message: str
    code: int | None


@dataclass(frozen=True)
class StrategyStateRecord:
    strategy: str
    trading_state: str
    reason: str | None
    updated_at: datetime
    equity_peak: float | None
    day: date | None
    day_start_equity: float | None
