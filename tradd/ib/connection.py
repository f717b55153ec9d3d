"""Keeps one IB connection alive: reconnect with backoff, circuit breaker, IB's system codes.

Runs as a task on the client loop. What the codes mean for trading:
- 1100 connectivity lost: the socket stays, IB is unreachable; no new orders.
- 1101 restored, data lost: resubscribe all market data, then reconcile.
- 1102 restored, data kept: reconcile (fills may have happened meanwhile).
- 1300 / socket closed: reconnect (new socket), re-qualify, resubscribe, reconcile.
- 2103/2105/2157 a data farm is broken, 2104/2106/2158 it is OK again: watched and
  logged; the feed staleness watchdog decides whether data actually stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime
from typing import Any, Protocol

from tradd.config.live import BrokerSettings
from tradd.errors import TemporaryError
from tradd.ib.circuit import Backoff, CircuitBreaker, CircuitState
from tradd.ib.codes import (
    CONNECTIVITY_LOST,
    FARM_OK,
    RESTORED_DATA_KEPT,
    RESTORED_DATA_LOST,
    SOCKET_RESET,
    is_farm_status,
)
from tradd.ib.events import LinkState
from tradd.ib.types import Notice


class Connectable(Protocol):
    async def connect(
        self, host: str, port: int, client_id: int, timeout: float, account: str = ""
    ) -> list[str]: ...
    async def disconnect(self) -> None: ...
    async def resubscribe(self) -> list[str]: ...
    async def server_time(self) -> datetime: ...


class LinkObserver(Protocol):
    """Told about the link on the client loop; must not block."""

    def link_changed(self, state: LinkState, reason: str) -> None: ...
    def link_ready(self, why: str) -> None: ...
    def farm_notice(self, notice: Notice, healthy: bool) -> None: ...


class ConnectionManager:
    def __init__(
        self,
        client: Connectable,
        settings: BrokerSettings,
        client_id: int,
        observer: LinkObserver,
        *,
        on_connect: Callable[[], Awaitable[None]],
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._client, self._settings, self._client_id = client, settings, client_id
        self._observer, self._on_connect = observer, on_connect
        r = settings.reconnect
        self.backoff = Backoff(r.initial, r.maximum, r.jitter, rng)
        c = settings.circuit
        self.breaker = CircuitBreaker(c.failure_threshold, c.open_seconds, clock)
        self._sleep = sleep
        self.state = LinkState.DISCONNECTED
        self.reason = "not connected yet"
        self.broken_farms: set[str] = set()
        self._lost = asyncio.Event()
        self._stop = asyncio.Event()
        self._connected_once = asyncio.Event()
        self._tasks: set[asyncio.Future[None]] = set()

    # -- the loop --------------------------------------------------------------------------
    async def run(self) -> None:
        while not self._stop.is_set():
            if not self.breaker.allow():
                self._set(
                    LinkState.CIRCUIT_OPEN,
                    f"circuit open after {self.breaker.failures} "
                    "failed attempts; next probe in "
                    f"{self.breaker.seconds_until_probe():.0f}s",
                )
                await self._pause(self.breaker.seconds_until_probe())
                continue
            if await self._attempt():
                await self._hold()
            else:
                await self._pause(self.backoff.next())
        self._set(LinkState.STOPPED, "stopped")

    async def _attempt(self) -> bool:
        self._set(
            LinkState.CONNECTING,
            f"connecting to {self._settings.host}:"
            f"{self._settings.port} as clientId {self._client_id}",
        )
        self._lost.clear()
        try:
            await self._client.connect(
                self._settings.host,
                self._settings.port,
                self._client_id,
                self._settings.connect_timeout,
                self._settings.account,
            )
            await self._on_connect()
        except (TemporaryError, OSError, TimeoutError) as exc:
            await self._client.disconnect()
            opened = self.breaker.record_failure()
            self._set(LinkState.DISCONNECTED, f"connect failed: {exc}")
            if opened:
                self._set(
                    LinkState.CIRCUIT_OPEN,
                    f"circuit opened after {self.breaker.failures} failed attempts",
                )
            return False
        self.breaker.record_success()
        self.backoff.reset()
        self._set(LinkState.CONNECTED, "connected")
        self._connected_once.set()
        self._observer.link_ready("connected")
        return True

    async def _hold(self) -> None:
        """Wait until the socket is lost (or we stop), then let the loop reconnect."""
        await _first(self._lost.wait(), self._stop.wait(), self._probe())
        if not self._stop.is_set():
            self._set(LinkState.DISCONNECTED, self.reason if self._lost.is_set() else "lost")
            await self._client.disconnect()
            await self._pause(self.backoff.next())

    async def _probe(self) -> None:
        """Ask the gateway the time now and then: a stalled gateway (socket open, nothing
        answered) looks exactly like a quiet one otherwise. Returns when it stops answering."""
        interval, timeout = self._settings.probe_interval, self._settings.probe_timeout
        while not self._stop.is_set():
            await self._pause(interval)
            if self._stop.is_set() or self.state is LinkState.CONNECTIVITY_LOST:
                continue  # 1100: IB said it is cut off; the socket itself is fine
            try:
                await asyncio.wait_for(self._client.server_time(), timeout)
            except (TimeoutError, ConnectionError, OSError, TemporaryError):
                self.reason = f"gateway did not answer a probe within {timeout:g}s"
                self._lost.set()
                return

    async def _pause(self, seconds: float) -> None:
        if self._sleep is not None:
            await self._sleep(seconds)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), timeout=max(seconds, 0.0))

    async def stop(self) -> None:
        self._stop.set()
        await self._client.disconnect()

    async def wait_connected(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self._connected_once.wait(), timeout)
        except TimeoutError:
            return False
        return True

    # -- events from the client (on the loop) ----------------------------------------------
    def on_disconnected(self) -> None:
        if not self._stop.is_set() and self.state is not LinkState.CONNECTING:
            self.reason = "socket closed by the gateway"
            self._lost.set()

    def on_notice(self, notice: Notice) -> None:
        code = notice.code
        if code == CONNECTIVITY_LOST:
            self._set(LinkState.CONNECTIVITY_LOST, f"{code} {notice.message}")
        elif code == RESTORED_DATA_LOST:
            self._spawn(self._restored("data_lost", notice))
        elif code == RESTORED_DATA_KEPT:
            self._spawn(self._restored("restored", notice))
        elif code == SOCKET_RESET:
            self.reason = f"{code} {notice.message}"
            self._lost.set()
        elif is_farm_status(code):
            farm = notice.message.rsplit(":", 1)[-1].strip() or str(code)
            healthy = code in FARM_OK
            (self.broken_farms.discard if healthy else self.broken_farms.add)(farm)
            self._observer.farm_notice(notice, healthy)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _restored(self, why: str, notice: Notice) -> None:
        if why == "data_lost":
            await self._client.resubscribe()
        self._set(LinkState.CONNECTED, f"{notice.code} {notice.message}")
        self._observer.link_ready(why)

    def _set(self, state: LinkState, reason: str) -> None:
        changed = state is not self.state or reason != self.reason
        self.state, self.reason = state, reason
        if changed:
            self._observer.link_changed(state, reason)

    @property
    def circuit(self) -> CircuitState:
        return self.breaker.state

    @property
    def usable(self) -> bool:
        return self.state is LinkState.CONNECTED


async def _first(*aws: Awaitable[object]) -> None:
    tasks = [asyncio.ensure_future(a) for a in aws]
    _, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
