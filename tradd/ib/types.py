"""Plain values that cross the boundary between the IB client thread and the rest of tradd.

The client module converts every library object into one of these, so no other module
depends on ib_async (or ib_insync) types, and values are safe to pass between threads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

Side = Literal["BUY", "SELL"]
OrderType = Literal["MKT", "LMT", "STP", "STP LMT"]

TERMINAL_STATUSES = frozenset({"Filled", "Cancelled", "ApiCancelled", "Inactive"})
"""IB order statuses after which nothing more happens to an order."""


@dataclass(frozen=True)
class ContractInfo:
    symbol: str
    con_id: int
    time_zone: str
    liquid_hours: str
    """IB's hours string, e.g. `20060110:0930-20060110:1600;20060111:CLOSED`."""
    min_tick: float
    multiplier: float = 1.0
    """IB's contract multiplier (a future's value is quantity x price x multiplier)."""
    sec_type: str = "STK"


@dataclass(frozen=True)
class OrderSpec:
    """One IB order to send; `parent` indexes an earlier spec in the same batch."""

    order_ref: str
    symbol: str
    action: Side
    quantity: float
    order_type: OrderType = "MKT"
    limit_price: float | None = None
    stop_price: float | None = None
    tif: str = "DAY"
    parent: int | None = None
    oca_group: str = ""
    transmit: bool = True
    account: str = ""


@dataclass(frozen=True)
class OrderUpdate:
    ib_order_id: int
    perm_id: int
    order_ref: str
    symbol: str
    status: str
    filled: float
    remaining: float
    avg_fill_price: float
    message: str = ""
    action: str = ""
    quantity: float = 0.0
    order_type: str = ""
    limit_price: float | None = None
    stop_price: float | None = None
    parent_id: int = 0
    client_id: int = 0
    error_code: int = 0
    """IB's error code when the last change came with an error (e.g. 201 rejected)."""

    @property
    def done(self) -> bool:
        return self.status in TERMINAL_STATUSES


@dataclass(frozen=True)
class Execution:
    exec_id: str
    ib_order_id: int
    perm_id: int
    order_ref: str
    symbol: str
    side: Side
    quantity: float
    price: float
    time: datetime
    account: str = ""


@dataclass(frozen=True)
class Commission:
    exec_id: str
    commission: float
    realized_pnl: float | None


@dataclass(frozen=True)
class Bar:
    """A bar starting at `start` (UTC) and lasting `seconds`."""

    symbol: str
    start: datetime
    seconds: int
    open: float
    high: float
    low: float
    close: float
    volume: float


@dataclass(frozen=True)
class Quote:
    symbol: str
    time: datetime
    bid: float
    ask: float
    last: float
    bid_size: float = 0.0
    ask_size: float = 0.0
    last_size: float = 0.0


@dataclass(frozen=True)
class BrokerPosition:
    """A position as IB holds it; ``avg_cost`` per unit of price (IB's per-contract average
    cost divided by the multiplier), comparable with the strategy's own average price."""

    symbol: str
    quantity: float
    avg_cost: float
    account: str = ""


@dataclass(frozen=True)
class PortfolioLine:
    symbol: str
    quantity: float
    market_price: float
    market_value: float
    avg_cost: float
    unrealized_pnl: float
    realized_pnl: float


@dataclass(frozen=True)
class Notice:
    """An IB error or informational message (`errorEvent`)."""

    req_id: int
    code: int
    message: str


@dataclass(frozen=True)
class HistoryResult:
    bars: tuple[Bar, ...]
    errors: tuple[Notice, ...] = ()


class ClientListener(Protocol):
    """Receives events on the client thread. Implementations must not block."""

    def on_order(self, update: OrderUpdate) -> None: ...
    def on_execution(self, execution: Execution) -> None: ...
    def on_commission(self, commission: Commission) -> None: ...
    def on_bar(self, bar: Bar) -> None: ...
    def on_quote(self, quote: Quote) -> None: ...
    def on_notice(self, notice: Notice) -> None: ...
    def on_account_value(self, tag: str, value: str, currency: str) -> None: ...
    def on_portfolio(self, line: PortfolioLine) -> None: ...
    def on_disconnected(self) -> None: ...
