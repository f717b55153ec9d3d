"""What the IB client thread tells the worker's main thread, as plain immutable values.

Everything the gateway says is put, in arrival order, into one queue that the main thread
(Backtrader's loop) drains. One queue keeps the order of events across kinds (an order's
status before its fill, a fill before the position it changes), and a blocked `get` on it
is the only place the main thread ever waits, so an event wakes it at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from tradd.ib.types import Bar, Commission, Execution, Notice, OrderUpdate, PortfolioLine, Quote


class LinkState(StrEnum):
    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    CONNECTIVITY_LOST = "connectivity_lost"
    """1100: the socket is up but IB's servers are unreachable."""
    CIRCUIT_OPEN = "circuit_open"
    STOPPED = "stopped"


@dataclass(frozen=True)
class BarReceived:
    bar: Bar
    """A 5-second real-time bar."""


@dataclass(frozen=True)
class QuoteReceived:
    quote: Quote


@dataclass(frozen=True)
class OrderChanged:
    update: OrderUpdate


@dataclass(frozen=True)
class ExecutionReceived:
    execution: Execution


@dataclass(frozen=True)
class CommissionReceived:
    commission: Commission


@dataclass(frozen=True)
class NoticeReceived:
    notice: Notice


@dataclass(frozen=True)
class AccountValueChanged:
    tag: str
    value: str
    currency: str


@dataclass(frozen=True)
class PortfolioChanged:
    line: PortfolioLine


@dataclass(frozen=True)
class LinkChanged:
    state: LinkState
    reason: str


@dataclass(frozen=True)
class LinkReady:
    """The connection is usable again and the gateway's view must be re-read (reconcile).

    `why` is "connected" (first connect or a new socket), "restored" (1102) or
    "data_lost" (1101, market data already re-requested).
    """

    why: str


@dataclass(frozen=True)
class FarmNotice:
    notice: Notice
    healthy: bool


IBEvent = (
    BarReceived
    | QuoteReceived
    | OrderChanged
    | ExecutionReceived
    | CommissionReceived
    | NoticeReceived
    | AccountValueChanged
    | PortfolioChanged
    | LinkChanged
    | LinkReady
    | FarmNotice
)
