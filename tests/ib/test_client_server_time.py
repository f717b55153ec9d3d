"""The gateway's clock asked by several callers at once (the liveness probe, the gateway
clock of `market_clock = "gateway"`, tests): each gets an answer at once. The client
library files this answer under one fixed key, so a second request orphaned the first
and its caller waited out the request timeout; a probe then reported a stalled gateway
and reconnected, and the worker's loop, waiting on the clock, froze for 30 s (issue 15:
workers killed as hung during `make run`)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from tests.fixtures.simulator import worker_settings
from tradd.ib.link import IBLink


@pytest.mark.parametrize("library", ["ib_async", "ib_insync"])
def test_concurrent_server_time_requests_are_all_answered(
    tmp_path: Path, simulator, library: str
) -> None:
    settings = worker_settings(tmp_path, simulator.port, "sqlite://", [],
                               broker={"library": library, "request_timeout": 5.0})  # fmt: skip
    link = IBLink(settings.broker, 31, symbols=())
    link.start()
    try:
        assert link.wait_connected(10)
        client = link.client

        async def together() -> list[object]:
            return await asyncio.gather(*(client.server_time() for _ in range(4)))

        started = time.monotonic()
        answers = client.call(together, timeout=10)
        assert len(answers) == 4 and len(set(answers)) == 1
        assert time.monotonic() - started < 2.0  # none waited out a timeout
        assert link.server_time() == answers[0]  # and the next one is asked afresh
    finally:
        link.stop()
