"""Run a simulator on its own thread and event loop, driven from synchronous code.

For tests and scripts that use a client library's blocking API on the main
thread (``ib.connect()``, ``ib.qualifyContracts()``) while the simulator serves
them: every call into the gateway is marshalled onto its loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from types import TracebackType
from typing import Any, TypeVar

from tradd.simgw.config import SimConfig
from tradd.simgw.gateway import SimGateway

T = TypeVar("T")
START_TIMEOUT = 30.0


class BackgroundGateway:
    def __init__(self, config: SimConfig, timeout: float = 10.0) -> None:
        self.config = config
        self.timeout = timeout
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="simgw", daemon=True)
        self.gateway: SimGateway | None = None

    def __enter__(self) -> BackgroundGateway:
        self._thread.start()
        self.gateway = self.run(self._start, timeout=START_TIMEOUT)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:  # fmt: skip
        try:
            if self.gateway is not None:
                self.run(self.gateway.stop)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(self.timeout)
            self._loop.close()

    async def _start(self) -> SimGateway:
        gateway = SimGateway(self.config)
        await gateway.start()
        return gateway

    @property
    def gw(self) -> SimGateway:
        assert self.gateway is not None, "gateway not started"
        return self.gateway

    @property
    def port(self) -> int:
        return self.gw.port

    def run(self, coro_fn: Callable[[], Awaitable[T]], timeout: float | None = None) -> T:
        """Await ``coro_fn()`` on the gateway's loop and return its result."""

        async def wrapper() -> T:
            return await coro_fn()

        future = asyncio.run_coroutine_threadsafe(wrapper(), self._loop)
        return future.result(timeout or self.timeout)

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call ``fn`` on the gateway's loop (gateway state is not thread-safe)."""
        done: Future[T] = Future()

        def invoke() -> None:
            try:
                done.set_result(fn(*args, **kwargs))
            except BaseException as exc:  # handed back to the caller's thread
                done.set_exception(exc)

        self._loop.call_soon_threadsafe(invoke)
        return done.result(self.timeout)
