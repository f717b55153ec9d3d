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

from tradd.simgw.admin import AdminServer, default_admin_socket
from tradd.simgw.config import SimConfig
from tradd.simgw.gateway import SimGateway

T = TypeVar("T")
START_TIMEOUT = 30.0


class BackgroundGateway:
    """`admin=True` also serves the admin socket (`config.admin_socket`, else the one
    `tradd simgw status --port N` looks for), so an embedded simulator can be inspected
    and faulted like a standalone one."""

    def __init__(self, config: SimConfig, timeout: float = 10.0, *, admin: bool = False) -> None:
        self.config = config
        self.timeout = timeout
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="simgw", daemon=True)
        self.gateway: SimGateway | None = None
        self.admin: AdminServer | None = None
        self._with_admin = admin

    def __enter__(self) -> BackgroundGateway:
        self._thread.start()
        try:
            self.gateway = self.run(self._start, timeout=START_TIMEOUT)
            if self._with_admin:
                self.admin = self.run(self._start_admin)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:  # fmt: skip
        try:
            if self.admin is not None:
                self.run(self.admin.stop)
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

    async def _start_admin(self) -> AdminServer:
        path = self.config.admin_socket or default_admin_socket(self.gw.port)
        admin = AdminServer(self.gw, path)
        await admin.start()
        return admin

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
