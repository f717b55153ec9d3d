"""One worker's connection to IB: the client thread, the reconnect loop and the event queue.

The client library's asyncio loop runs on its own thread (`IBClient`); the
`ConnectionManager` keeps the socket alive on that loop. Everything IB says is turned
into an `IBEvent` and put on `inbox`, which the worker's main thread (Backtrader) drains.
The main thread reaches the gateway only through the blocking methods here, each bounded
by a timeout, so a dead gateway costs a clear `TemporaryError`, never a hang.
"""

from __future__ import annotations

import asyncio
import queue
import time
from collections.abc import Callable
from datetime import datetime

import structlog

from tradd.config.live import BrokerSettings
from tradd.ib.client import IBClient
from tradd.ib.connection import ConnectionManager
from tradd.ib.events import (
    AccountValueChanged,
    BarReceived,
    CommissionReceived,
    ExecutionReceived,
    FarmNotice,
    LinkChanged,
    LinkReady,
    LinkState,
    NoticeReceived,
    OrderChanged,
    PortfolioChanged,
    QuoteReceived,
)
from tradd.ib.types import (
    Bar,
    BrokerPosition,
    Commission,
    ContractInfo,
    Execution,
    HistoryResult,
    Notice,
    OrderSpec,
    OrderUpdate,
    PortfolioLine,
    Quote,
)
from tradd.marketdata.contracts import ContractDefinitions, ContractSpec

log = structlog.get_logger("tradd.ib.link")


class IBLink:
    """Owns the client thread; implements the client's listener by queueing events."""

    def __init__(
        self,
        settings: BrokerSettings,
        client_id: int,
        *,
        symbols: tuple[str, ...],
        quotes: bool = False,
        monotonic: Callable[[], float] = time.monotonic,
        definitions: ContractDefinitions | None = None,
    ) -> None:
        self.settings, self.client_id = settings, client_id
        self.definitions = definitions or ContractDefinitions({})
        """What each symbol is at IB (the data directory's contracts.toml)."""
        self.symbols, self._quotes = symbols, quotes
        self.inbox: queue.SimpleQueue[object] = queue.SimpleQueue()
        self.contracts: dict[str, ContractInfo] = {}
        self.client = IBClient(
            self, library=settings.library, request_timeout=settings.request_timeout
        )
        self.manager = ConnectionManager(
            self.client, settings, client_id, self, on_connect=self._on_connect, clock=monotonic
        )
        self._connects = 0
        self._task: asyncio.Future[None] | None = None

    # -- lifecycle (main thread) -----------------------------------------------------------
    def start(self) -> None:
        """Start the client thread and the reconnect loop; does not wait for a connection."""
        self.client.start()
        self._task = asyncio.run_coroutine_threadsafe(self.manager.run(), self.client.loop)  # type: ignore[assignment]

    def wait_connected(self, timeout: float) -> bool:
        return self.client.call(self.manager.wait_connected, timeout, timeout=timeout + 1)

    def stop(self) -> None:
        if self._task is not None:
            self.client.call(self.manager.stop)
        self.client.stop()

    @property
    def usable(self) -> bool:
        """May orders be sent now (connected, IB reachable, circuit closed)?"""
        return self.manager.usable

    @property
    def state(self) -> LinkState:
        return self.manager.state

    # -- requests (main thread; each bounded by the request timeout) -----------------------
    def place(self, specs: list[OrderSpec]) -> list[int]:
        return self.client.call(self.client.place, specs)

    def cancel(self, ib_order_id: int) -> bool:
        return self.client.call(self.client.cancel, ib_order_id)

    def open_orders(self) -> list[OrderUpdate]:
        return self.client.call(self.client.open_orders)

    def completed_orders(self) -> list[OrderUpdate]:
        return self.client.call(self.client.completed_orders)

    def executions(self) -> list[tuple[Execution, Commission | None]]:
        return self.client.call(self.client.executions)

    def positions(self) -> list[BrokerPosition]:
        return self.client.call(self.client.positions)

    def qualify(self, symbols: list[str]) -> None:
        """Resolve contracts for orders without subscribing market data (the supervisor's
        emergency connections trade a strategy's symbols but need no bars)."""
        for symbol in symbols:
            if symbol not in self.contracts:
                self.contracts[symbol] = self.client.call(
                    self.client.qualify, symbol, self._spec(symbol)
                )

    def refresh_contracts(self) -> None:
        """Qualify every symbol again: contract details carry IB's hours for only the next
        few days, so a connection that lives for weeks must fetch them anew."""
        for symbol in self.symbols:  # from its definition, as on connect
            self.contracts[symbol] = self.client.call(
                self.client.qualify, symbol, self._spec(symbol)
            )

    def qualify_con_id(self, key: str, con_id: int) -> ContractInfo:
        self.contracts[key] = self.client.call(self.client.qualify_con_id, key, con_id)
        return self.contracts[key]

    def global_cancel(self) -> None:
        self.client.call(self.client.global_cancel)

    def all_open_orders(self) -> list[OrderUpdate]:
        return self.client.call(self.client.all_open_orders)

    def positions_by_con_id(self) -> list[tuple[int, BrokerPosition]]:
        return self.client.call(self.client.positions_by_con_id)

    def account_values(self) -> dict[str, str]:
        return self.client.call(self.client.account_values)

    def history(self, symbol: str, duration: str, bar_size: str) -> HistoryResult:
        return self.client.call(self.client.history, symbol, None, duration, bar_size, True)

    def resubscribe(self, symbols: list[str]) -> list[str]:
        return self.client.call(self.client.resubscribe, symbols)

    def server_time(self) -> datetime:
        return self.client.call(self.client.server_time)

    def _spec(self, symbol: str) -> ContractSpec | None:
        """The symbol's definition, if the data directory has one (else IB's default)."""
        return self.definitions.spec(symbol) if symbol in self.definitions else None

    # -- connect hook (client loop) --------------------------------------------------------
    async def _on_connect(self) -> None:
        """Qualify every symbol and (re)subscribe market data on each new socket."""
        for symbol in self.symbols:
            self.contracts[symbol] = await self.client.qualify(symbol, self._spec(symbol))
        if self._connects == 0:
            for symbol in self.symbols:
                await self.client.subscribe_bars(symbol)
                if self._quotes:
                    await self.client.subscribe_quotes(symbol)
        else:
            await self.client.resubscribe(fresh=True)
        self._connects += 1

    # -- ClientListener and LinkObserver (client loop: only queue, never block) ------------
    def on_order(self, update: OrderUpdate) -> None:
        self.inbox.put(OrderChanged(update))

    def on_execution(self, execution: Execution) -> None:
        self.inbox.put(ExecutionReceived(execution))

    def on_commission(self, commission: Commission) -> None:
        self.inbox.put(CommissionReceived(commission))

    def on_bar(self, bar: Bar) -> None:
        self.inbox.put(BarReceived(bar))

    def on_quote(self, quote: Quote) -> None:
        self.inbox.put(QuoteReceived(quote))

    def on_notice(self, notice: Notice) -> None:
        self.manager.on_notice(notice)
        self.inbox.put(NoticeReceived(notice))

    def on_account_value(self, tag: str, value: str, currency: str) -> None:
        self.inbox.put(AccountValueChanged(tag, value, currency))

    def on_portfolio(self, line: PortfolioLine) -> None:
        self.inbox.put(PortfolioChanged(line))

    def on_disconnected(self) -> None:
        self.manager.on_disconnected()

    def link_changed(self, state: LinkState, reason: str) -> None:
        log.info("ib link", state=str(state), reason=reason, client_id=self.client_id)
        self.inbox.put(LinkChanged(state, reason))

    def link_ready(self, why: str) -> None:
        self.inbox.put(LinkReady(why))

    def farm_notice(self, notice: Notice, healthy: bool) -> None:
        self.inbox.put(FarmNotice(notice, healthy))
