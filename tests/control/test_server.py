"""The control server's rules, on a stand-in daemon: one state-changing command at a time."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace
from typing import Any

from tradd.control.peers import PeerPolicy
from tradd.control.server import ControlServer


class SlowDaemon(SimpleNamespace):
    """Just enough of a Supervisor: a reload that takes until `release` is set."""

    def __init__(self) -> None:
        super().__init__(busy=None, views=(), release=asyncio.Event(), reloads=0, fleet={})

    async def reload(self) -> dict[str, Any]:
        await self.release.wait()
        self.reloads += 1
        return {"added": [], "removed": [], "changed": [], "unchanged": []}

    def health(self) -> dict[str, Any]:
        return {"ok": True}

    def status_line(self) -> str:
        return "0 strategies"


def test_a_command_during_a_reload_gets_conflict_and_reads_still_work(tmp_path) -> None:
    async def scenario() -> list[dict[str, Any]]:
        daemon = SlowDaemon()
        server = ControlServer(
            daemon, tmp_path / "c.sock", PeerPolicy(frozenset(), frozenset()), 4096
        )  # type: ignore[arg-type]
        reload = asyncio.create_task(server.answer(b'{"cmd": "reload"}'))
        while daemon.busy is None:
            await asyncio.sleep(0)
        during = [await server.answer(line) for line in (
            b'{"cmd": "flatten", "args": {"all": true}}', b'{"cmd": "reload"}', b'{"cmd": "health"}',
            b'{"cmd": "status"}')]  # fmt: skip
        daemon.release.set()
        done = await reload
        after = await server.answer(b'{"cmd": "flatten", "args": {"strategy": "x"}}')
        assert daemon.reloads == 1 and daemon.busy is None
        return [json.loads(r) for r in (*during, done, after)]

    loop = asyncio.new_event_loop()  # not asyncio.run: it leaves the thread without a loop
    try:
        flatten, second_reload, health, status, reload, after = loop.run_until_complete(scenario())
    finally:
        loop.close()
    assert (
        flatten["error"]["code"] == "conflict"
        and "reload in progress" in flatten["error"]["message"]
    )
    assert second_reload["error"]["code"] == "conflict"
    assert health["ok"] and status["ok"]
    assert reload["ok"] and reload["result"]["added"] == []
    assert after["error"]["code"] == "unknown_strategy"  # served: the lock was released
