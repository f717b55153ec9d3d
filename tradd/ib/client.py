"""The one module that imports the IB client library (ib_async, or ib_insync as fallback).

`IBClient` runs the library's asyncio loop on its own thread and converts every library
object into a plain value from `tradd.ib.types`. Callers on other threads use `call`
(run a coroutine on the loop and wait) or the synchronous wrappers; events reach the
`ClientListener` on the client thread, which must only hand them on (queues), never block.
"""

from __future__ import annotations

import asyncio
import importlib
import math
import threading
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from types import ModuleType
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from tradd.errors import TemporaryError
from tradd.ib import convert
from tradd.ib.codes import is_warning
from tradd.ib.contract_request import ib_multiplier, request_fields
from tradd.ib.types import (
    BrokerPosition,
    ClientListener,
    Commission,
    ContractInfo,
    Execution,
    HistoryResult,
    Notice,
    OrderSpec,
    OrderUpdate,
)
from tradd.marketdata.contracts import ContractSpec

T = TypeVar("T")
LIBRARIES = ("ib_async", "ib_insync")


def load_library(name: str = "auto") -> ModuleType:
    """ib_async by default; ib_insync when asked for or when ib_async is missing."""
    names = LIBRARIES if name == "auto" else (name,)
    for candidate in names:
        try:
            return importlib.import_module(candidate)
        except ImportError:
            continue
    raise TemporaryError(f"IB client library not installed (tried {', '.join(names)})")


class IBClient:
    """One IB API connection, its loop thread, and the contracts and subscriptions it holds."""

    def __init__(
        self,
        listener: ClientListener,
        *,
        library: str = "auto",
        request_timeout: float = 30.0,
        name: str = "ib-client",
    ) -> None:
        self._lib = load_library(library)
        self.library = self._lib.__name__
        self._listener = listener
        self._timeout = request_timeout
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run_loop, name=name, daemon=True)
        self._contracts: dict[str, Any] = {}
        self._bars: dict[str, Any] = {}
        self._quotes: dict[str, Any] = {}
        self._zones: dict[str, str] = {}
        self._names: dict[int, str] = {}
        """conId -> data symbol: IB reports a future as ESTX50 and a pair as EUR, tradd
        knows them as IDXFUT and EURUSD (the symbol they were qualified under)."""
        self._ib: Any = None
        self._time_request: tuple[asyncio.Future[Any] | None, float] = (None, 0.0)
        self.account = ""

    # -- thread plumbing -------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()
        self.call(self._create)

    def _run_loop(self) -> None:
        asyncio.set_event_loop(self._loop)  # ib_insync looks the loop up per thread
        self._loop.run_forever()

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        self.call(self._disconnect)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    def call(self, fn: Callable[..., Awaitable[T]], *args: Any, timeout: float | None = None) -> T:
        """Run `fn(*args)` on the client loop and wait for its result (from any other thread)."""
        coro = _as_coroutine(fn(*args))
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        name = getattr(fn, "__name__", fn)
        try:
            return future.result(timeout or self._timeout)
        except TimeoutError:
            future.cancel()
            raise TemporaryError(f"IB request {name} timed out") from None
        except (ConnectionError, OSError) as exc:  # the socket went away under the request
            raise TemporaryError(f"IB request {name} failed: {exc!r}") from None

    def post(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run `fn(*args)` on the client loop soon; do not wait."""
        self._loop.call_soon_threadsafe(fn, *args)

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        return self._loop

    async def _create(self) -> None:
        ib = self._lib.IB()
        ib.orderStatusEvent += self._order_event
        ib.openOrderEvent += self._order_event
        ib.execDetailsEvent += self._exec_event
        ib.commissionReportEvent += self._commission_event
        ib.errorEvent += self._error_event
        ib.disconnectedEvent += self._listener.on_disconnected
        ib.accountValueEvent += self._account_event
        ib.updatePortfolioEvent += self._portfolio_event
        ib.pendingTickersEvent += self._tickers_event
        self._ib = ib

    # -- connection ------------------------------------------------------------------------
    async def connect(
        self, host: str, port: int, client_id: int, timeout: float, account: str = ""
    ) -> list[str]:
        """Connect and run the library's start-up sync; returns the managed accounts."""
        self._time_request = (None, 0.0)  # an answer lost with the old socket never comes
        try:
            await self._ib.connectAsync(
                host, port, clientId=client_id, timeout=timeout, account=account
            )
        except (OSError, TimeoutError, ConnectionError) as exc:
            self._ib.disconnect()
            raise TemporaryError(f"cannot connect to IB at {host}:{port}: {exc!r}") from None
        accounts = list(self._ib.managedAccounts())
        self.account = account or (accounts[0] if accounts else "")
        return accounts

    async def _disconnect(self) -> None:
        if self._ib is not None and self._ib.isConnected():
            self._ib.disconnect()

    async def disconnect(self) -> None:
        await self._disconnect()

    def connected(self) -> bool:
        return bool(self._ib is not None and self._ib.isConnected())

    async def server_time(self) -> datetime:
        """The gateway's clock. Callers at the same time (the liveness probe, the gateway
        clock, tests) share one request: the library files this answer under a fixed key,
        so a second request would orphan the first, whose caller then waited out its
        timeout (a "stalled gateway" reconnect, or a worker loop frozen for 30 s)."""
        loop = asyncio.get_running_loop()
        pending, started = self._time_request
        if pending is None or pending.done() or loop.time() - started > self._timeout:
            pending = asyncio.ensure_future(self._ib.reqCurrentTimeAsync())
            self._time_request = (pending, loop.time())
        stamp: datetime = await asyncio.shield(pending)
        return stamp.astimezone(UTC)

    # -- contracts -------------------------------------------------------------------------
    async def qualify(self, symbol: str, spec: ContractSpec | None = None) -> ContractInfo:
        """Resolve `symbol` to a unique contract: from its definition (`spec`, from the data
        directory's contracts.toml) when it has one, else as a stock on SMART, or a forex
        pair for six letters that IB knows as one. IB's answer must agree with the
        definition's multiplier, on which every value of the symbol depends."""
        if spec is not None:
            details = await self._ib.reqContractDetailsAsync(
                self._lib.Contract(**request_fields(spec))
            )
        elif len(symbol) == 6 and symbol.isalpha() and symbol.isupper():
            details = await self._ib.reqContractDetailsAsync(self._lib.Forex(symbol))
            if not details:
                details = await self._ib.reqContractDetailsAsync(
                    self._lib.Stock(symbol, "SMART", "USD")
                )
        else:
            details = await self._ib.reqContractDetailsAsync(
                self._lib.Stock(symbol, "SMART", "USD")
            )
        if len(details) != 1:
            raise TemporaryError(f"{symbol}: {len(details)} contracts match (need exactly one)")
        info = self._keep(symbol, details[0])
        self._names[info.con_id] = symbol
        if spec is not None and not math.isclose(info.multiplier, spec.multiplier):
            raise TemporaryError(
                f"{symbol}: IB's contract {details[0].contract.localSymbol!r} has multiplier "
                f"{info.multiplier:g}, its definition says {spec.multiplier:g}"
            )
        return info

    def _keep(self, key: str, d: Any) -> ContractInfo:
        """Keep a qualified contract under `key` (for `place`) and describe it."""
        self._contracts[key] = d.contract
        self._zones[key] = d.timeZoneId or "US/Eastern"
        return ContractInfo(
            key,
            d.contract.conId,
            d.timeZoneId or "US/Eastern",
            d.liquidHours or d.tradingHours or "",
            d.minTick or 0.01,
            ib_multiplier(d.contract.multiplier),
            d.contract.secType or "STK",
        )

    # -- orders ----------------------------------------------------------------------------
    async def place(self, specs: list[OrderSpec]) -> list[int]:
        """Send a batch (a bracket is parent + children); returns the IB order ids used."""
        ids: list[int] = []
        for spec in specs:
            order = self._order(spec, ids)
            ids.append(order.orderId)
            self._ib.placeOrder(self._contracts[spec.symbol], order)
        return ids

    def _order(self, spec: OrderSpec, ids: list[int]) -> Any:
        order = self._lib.Order(
            orderId=self._ib.client.getReqId(),
            action=spec.action,
            totalQuantity=spec.quantity,
            orderType=spec.order_type,
            tif=spec.tif,
            orderRef=spec.order_ref,
            transmit=spec.transmit,
            account=spec.account or self.account,
        )
        if spec.limit_price is not None:
            order.lmtPrice = spec.limit_price
        if spec.stop_price is not None:
            order.auxPrice = spec.stop_price
        if spec.parent is not None:
            order.parentId = ids[spec.parent]
        if spec.oca_group:
            order.ocaGroup, order.ocaType = spec.oca_group, 1
        return order

    async def cancel(self, ib_order_id: int) -> bool:
        for trade in self._ib.openTrades():
            if trade.order.orderId == ib_order_id:
                self._ib.cancelOrder(trade.order)
                return True
        return False

    async def global_cancel(self) -> None:
        """reqGlobalCancel: IB cancels every working order of the account, whichever client
        (or TWS) placed it. Fire and forget: the cancels arrive as order events."""
        self._ib.reqGlobalCancel()

    async def all_open_orders(self) -> list[OrderUpdate]:
        """Every working order of the account (reqAllOpenOrders), not only this client's."""
        trades = await asyncio.wait_for(self._ib.reqAllOpenOrdersAsync(), self._timeout)
        return [self._order_update(t) for t in trades if not t.isDone()]

    async def open_orders(self) -> list[OrderUpdate]:
        """This client's working orders, fresh from the gateway."""
        await asyncio.wait_for(self._ib.reqOpenOrdersAsync(), self._timeout)
        return [self._order_update(t) for t in self._ib.openTrades()]

    async def completed_orders(self) -> list[OrderUpdate]:
        trades = await asyncio.wait_for(self._ib.reqCompletedOrdersAsync(True), self._timeout)
        return [self._order_update(t) for t in trades]

    async def executions(self) -> list[tuple[Execution, Commission | None]]:
        """Today's executions of the account, with their commission reports when known."""
        fills = await asyncio.wait_for(self._ib.reqExecutionsAsync(), self._timeout)
        # The library attaches commission reports to the fill it stored first, which may be
        # an earlier live fill rather than the copy this request returned.
        stored = {f.execution.execId: f for f in self._ib.fills()}
        out = []
        for fill in fills:
            report = stored.get(fill.execution.execId, fill).commissionReport
            known = report is not None and report.execId
            out.append((convert.execution(fill, self._name(fill.contract)),
                        convert.commission(report) if known else None))  # fmt: skip
        return out

    async def positions(self) -> list[BrokerPosition]:
        return [position for _, position in await self.positions_by_con_id()]

    async def positions_by_con_id(self) -> list[tuple[int, BrokerPosition]]:
        """The positions with their contracts' conIds (a symbol alone can be ambiguous):
        one per account and contract, as the gateway holds them."""
        rows = await asyncio.wait_for(self._ib.reqPositionsAsync(), self._timeout)
        latest = _latest_per_contract(rows).items()
        return [(con_id, BrokerPosition(self._name(p.contract), float(p.position),
                 convert.per_unit(float(p.avgCost), p.contract), p.account))
                for (_, con_id), p in latest]  # fmt: skip

    async def qualify_con_id(self, key: str, con_id: int) -> ContractInfo:
        """Resolve a contract by conId and keep it under `key` for `place` (a position's
        contract comes without the exchange an order needs)."""
        details = await self._ib.reqContractDetailsAsync(self._lib.Contract(conId=con_id))
        if len(details) != 1:
            raise TemporaryError(f"conId {con_id}: {len(details)} contracts match (need one)")
        return self._keep(key, details[0])

    async def account_values(self) -> dict[str, str]:
        return {
            v.tag: v.value
            for v in self._ib.accountValues(self.account)
            if v.currency in ("USD", "BASE", "")
        }

    def forget_done(self, keep: int, live_ids: set[int]) -> None:
        """Drop all but the newest `keep` finished trades and fills from the library's
        session caches (it keeps every one otherwise: ~13 KiB per order). Runs on the client
        loop; tradd's own state is in the ledger, and duplicates are caught there. Orders
        in `live_ids` stay, even if the library thinks them done."""
        wrapper = self._ib.wrapper
        done = [key for key, trade in wrapper.trades.items()
                if trade.isDone() and trade.order.orderId not in live_ids]  # fmt: skip
        for key in done[: max(len(done) - keep, 0)]:
            trade = wrapper.trades.pop(key)
            wrapper.permId2Trade.pop(trade.order.permId, None)
        for exec_id in list(wrapper.fills)[: max(len(wrapper.fills) - keep, 0)]:
            del wrapper.fills[exec_id]

    # -- market data -----------------------------------------------------------------------
    async def history(
        self,
        symbol: str,
        end: datetime | None,
        duration: str,
        bar_size: str,
        use_rth: bool = True,
        what: str | None = None,
    ) -> HistoryResult:
        """Historical bars; the errors IB sent meanwhile (e.g. 162 pacing) come back too.

        Without ``what``, the series IB serves for the contract (`bar_source`)."""
        contract = self._contracts[symbol]
        errors: list[Notice] = []

        def collect(req_id: int, code: int, message: str, contract: Any = None) -> None:
            if req_id > 0 and not is_warning(code):
                errors.append(Notice(req_id, code, message))

        self._ib.errorEvent += collect
        started = asyncio.get_running_loop().time()
        try:
            bars = await self._ib.reqHistoricalDataAsync(
                contract,
                end or "",
                duration,
                bar_size,
                what or bar_source(contract.secType),
                use_rth,
                formatDate=2,
                timeout=self._timeout,
            )
        finally:
            self._ib.errorEvent -= collect
        elapsed = asyncio.get_running_loop().time() - started
        if not bars and not errors and elapsed >= self._timeout:
            # the library answers a timeout with an empty list, which would read as "no data"
            raise TemporaryError(
                f"{symbol}: no answer to a historical data request within {self._timeout:g} s"
            )
        seconds = convert.bar_seconds(bar_size)
        tz = ZoneInfo(self._tz(symbol))
        return HistoryResult(
            tuple(convert.history_bar(symbol, b, seconds, tz) for b in bars or ()), tuple(errors)
        )

    async def subscribe_bars(self, symbol: str) -> None:
        """Stream IB's 5-second real-time bars for `symbol` (a qualified contract)."""
        # Regular hours only, like the warm-up history and the research data.
        contract = self._contracts[symbol]
        bars = self._ib.reqRealTimeBars(contract, 5, bar_source(contract.secType), True)
        bars.updateEvent += lambda items, has_new: self._realtime_bar(symbol, items, has_new)
        self._bars[symbol] = bars

    async def subscribe_quotes(self, symbol: str) -> None:
        self._quotes[symbol] = self._ib.reqMktData(self._contracts[symbol], "", False, False)

    async def resubscribe(
        self, symbols: list[str] | None = None, *, fresh: bool = False
    ) -> list[str]:
        """Re-request market data: all subscriptions, or those of `symbols`.

        After 1101 (same socket, data lost) the old subscriptions are cancelled first;
        after a reconnect (`fresh`) they died with the old socket and are only re-requested.
        """
        wanted = [s for s in self._bars if symbols is None or s in symbols]
        for symbol in wanted:
            if not fresh and self._ib.isConnected():
                self._ib.cancelRealTimeBars(self._bars[symbol])
            await self.subscribe_bars(symbol)
        for symbol in [s for s in self._quotes if symbols is None or s in symbols]:
            if not fresh and self._ib.isConnected():
                self._ib.cancelMktData(self._contracts[symbol])
            await self.subscribe_quotes(symbol)
        return wanted

    # -- conversions (client thread) -------------------------------------------------------
    def _name(self, contract: Any) -> str:
        """The data symbol of an IB contract (IB's own symbol for one never qualified)."""
        return self._names.get(int(contract.conId or 0)) or str(contract.symbol)

    def _order_update(self, trade: Any) -> OrderUpdate:
        return convert.order_update(trade, self._name(trade.contract))

    def _tz(self, symbol: str) -> str:
        return self._zones.get(symbol, "US/Eastern")

    def _realtime_bar(self, symbol: str, items: Any, has_new: bool) -> None:
        if not has_new or not items:
            return
        b = items[-1]
        del items[:]  # the library keeps every bar of the subscription otherwise
        self._listener.on_bar(convert.realtime_bar(symbol, b))

    def _order_event(self, trade: Any) -> None:
        self._listener.on_order(self._order_update(trade))

    def _exec_event(self, trade: Any, fill: Any) -> None:
        self._listener.on_execution(convert.execution(fill, self._name(fill.contract)))

    def _commission_event(self, trade: Any, fill: Any, report: Any) -> None:
        self._listener.on_commission(convert.commission(report))

    def _error_event(self, req_id: int, code: int, message: str, contract: Any = None) -> None:
        self._listener.on_notice(Notice(req_id, code, message))

    def _account_event(self, value: Any) -> None:
        if not self.account or value.account == self.account:
            self._listener.on_account_value(value.tag, value.value, value.currency)

    def _portfolio_event(self, item: Any) -> None:
        self._listener.on_portfolio(convert.portfolio_line(item, self._name(item.contract)))

    def _tickers_event(self, tickers: Any) -> None:
        for t in tickers:
            self._listener.on_quote(convert.quote(t, self._name(t.contract)))


def _as_coroutine(value: Awaitable[T]) -> Coroutine[Any, Any, T]:
    async def wrap() -> T:
        return await value

    return value if asyncio.iscoroutine(value) else wrap()


def _latest_per_contract(rows: list[Any]) -> dict[tuple[str, int], Any]:
    """The newest row per (account, conId) of a positions answer.

    The library collects every position message that arrives while the request is open,
    and the gateway keeps sending updates to a client that asked before: a fill by
    another client (another strategy trading the same symbol on the account) just before
    the answer put that symbol in it twice, the update and then the list. Messages come
    in order, so the last row of a contract is its position now."""
    latest: dict[tuple[str, int], Any] = {}
    for row in rows:
        key = (str(row.account), int(row.contract.conId))
        latest.pop(key, None)  # in the order last seen
        latest[key] = row
    return latest


def bar_source(sec_type: str) -> str:
    """The series IB builds bars from: quotes for forex (IDEALPRO has no trades, and IB
    refuses TRADES for it), trades for everything else."""
    return "MIDPOINT" if sec_type == "CASH" else "TRADES"
