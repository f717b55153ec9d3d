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
    ORDER_STATUSES,
    ORDER_TYPES,
    SIDES,
    SNAPSHOT_SOURCES,
    TERMINAL_STATUSES,
    TIFS,
    TRADING_STATES,
    OrderStatus,
)

__all__ = [
    "ORDER_STATUSES",
    "TERMINAL_STATUSES",
    "ConnectionEventRecord",
    "EquitySnapshotRecord",
    "FillRecord",
    "NewOrder",
    "OrderEventRecord",
    "OrderRecord",
    "OrderStatus",
    "PositionRow",
    "PositionSnapshotRecord",
    "RiskDecisionRecord",
    "StrategyStateRecord",
]

SYMBOL_MAX = 32
REF_MAX = 96
EXEC_ID_MAX = 64
ACCOUNT_MAX = 32


def _check_choice(what: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{what} {value!r}: must be one of {', '.join(allowed)}")


def _check_positive(what: str, value: float) -> None:
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{what} {value!r}: must be a positive number")


def check_aware(what: str, value: datetime) -> None:
    """Refuse naive datetimes: their meaning depends on the host's time zone."""
    if not isinstance(value, datetime):
        raise ValueError(f"{what} {value!r}: must be a datetime")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} {value.isoformat()}: must be timezone-aware")


def check_finite(what: str, value: float | None) -> None:
    if value is not None and not math.isfinite(value):
        raise ValueError(f"{what} {value!r}: must be a finite number")


def _check_text(what: str, value: str, maximum: int) -> None:
    if not value.strip():
        raise ValueError(f"{what} {value!r}: must not be blank")
    if len(value) > maximum:
        raise ValueError(f"{what} {value!r}: longer than {maximum} characters")


def _optional_text(what: str, value: str | None, maximum: int) -> str | None:
    """None for absent or empty text (ib_async leaves unset strings empty), else checked."""
    if value is None or value == "":
        return None
    _check_text(what, value, maximum)
    return value


def _normalise(record: object, field: str, value: str | float | None) -> None:
    object.__setattr__(record, field, value)  # frozen: __post_init__ is the only writer


def _as_floats(record: object, *names: str) -> None:
    """Store ints given for float fields as floats, so records equal what is read back."""
    for name in names:
        value = getattr(record, name)
        if value is not None:
            _normalise(record, name, float(value))


def check_source(source: str) -> None:
    _check_choice("snapshot source", source, SNAPSHOT_SOURCES)


def check_trading_state(state: str) -> None:
    _check_choice("trading state", state, TRADING_STATES)


def check_side(side: str | None) -> None:
    if side is not None:
        _check_choice("side", side, SIDES)


def check_status(status: str) -> str:
    """The status as a plain string, or ValueError naming the unknown status."""
    _check_choice("order status", status, ORDER_STATUSES)
    return str(status)


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
    """orderRef of a bracket's parent that is already in the ledger (see parent_index)."""
    oca_group: str | None = None
    parent_index: int | None = None
    """For a bracket created in one `create_orders` call: the index of the parent in that
    batch (an earlier element); the ledger fills in `parent_ref` with the parent's ref."""

    def __post_init__(self) -> None:
        _check_text("order symbol", self.symbol, SYMBOL_MAX)
        what = f"order {self.side} {self.symbol}:"
        _normalise(
            self, "parent_ref", _optional_text(f"{what} parent ref", self.parent_ref, REF_MAX)
        )
        _normalise(self, "oca_group", _optional_text(f"{what} OCA group", self.oca_group, REF_MAX))
        if self.parent_index is not None:
            if self.parent_ref is not None:
                raise ValueError(f"{what} both parent_ref and parent_index given: give one")
            if isinstance(self.parent_index, bool) or self.parent_index < 0:
                raise ValueError(f"{what} parent_index {self.parent_index!r}: must be >= 0")
        _check_choice(f"{what} side", self.side, SIDES)
        _check_choice(f"{what} order type", self.order_type, ORDER_TYPES)
        _check_choice(f"{what} time in force", self.tif, TIFS)
        _check_positive(f"{what} quantity", self.quantity)
        needs = {
            "limit price": (self.order_type in ("LMT", "STP LMT"), self.limit_price),
            "stop price": (self.order_type in ("STP", "STP LMT"), self.stop_price),
        }
        for name, (needed, price) in needs.items():
            if needed != (price is not None):
                allowed = "required" if needed else "not allowed"
                raise ValueError(f"{what} {self.order_type} order: {name} {allowed}")
            if price is not None:
                _check_positive(f"{what} {name}", price)
        _as_floats(self, "quantity", "limit_price", "stop_price")


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
        _check_text("exec id", self.exec_id, EXEC_ID_MAX)
        what = f"fill {self.exec_id}:"
        _normalise(self, "order_ref", _optional_text(f"{what} order ref", self.order_ref, REF_MAX))
        _normalise(self, "account", _optional_text(f"{what} account", self.account, ACCOUNT_MAX))
        _check_text(f"{what} symbol", self.symbol, SYMBOL_MAX)
        _check_choice(f"{what} side", self.side, SIDES)
        _check_positive(f"{what} quantity", self.quantity)
        _check_positive(f"{what} price", self.price)
        check_finite(f"{what} commission", self.commission)
        check_finite(f"{what} realized P&L", self.realized_pnl)
        check_aware(f"{what} execution time", self.executed_at)
        _as_floats(self, "quantity", "price", "commission", "realized_pnl")

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

    def __post_init__(self) -> None:
        _check_text("position symbol", self.symbol, SYMBOL_MAX)
        check_finite(f"position {self.symbol}: quantity", self.quantity)
        for what, value in (
            ("average cost", self.avg_cost),
            ("market price", self.market_price),
            ("market value", self.market_value),
            ("unrealized P&L", self.unrealized_pnl),
        ):
            check_finite(f"position {self.symbol}: {what}", value)


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
class RiskDecisionInput:
    """A decision of the risk gate about to be stored (see `Ledger.create_orders`)."""

    action: str
    reason: str
    trading_state: str
    rule: str | None = None
    symbol: str | None = None
    side: str | None = None
    requested_qty: float | None = None
    approved_qty: float | None = None
    client_ref: str | None = None
    """An operator entry's repeat-safety reference (tradd.worker.entry)."""


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
    client_ref: str | None = None


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
