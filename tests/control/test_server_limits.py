"""The control socket under abuse, on a stand-in daemon: deeply nested JSON, an idle flood,
silent connections, every slot busy. `status` and `flatten` must always be answered."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.control.test_server import SlowDaemon
from tests.fixtures.simulator import eventually
from tests.worker.test_units_channel import short_dir
from tradd.control import commands
from tradd.control import server as server_module
from tradd.control.admission import Admission
from tradd.control.client import call
from tradd.control.commands import Command
from tradd.control.peers import PeerPolicy
from tradd.control.server import ControlServer

DEEP = b'{"cmd": "status", "args": {"x": ' + b"[" * 20000 + b"]" * 20000 + b"}}\n"


class Slow(Command):
    """A read-only command that takes until the daemon's `release` is set."""

    name, mutating = "slow", False

    async def execute(self, daemon: Any, args: dict[str, Any]) -> Any:
        await daemon.release.wait()
        return "done"


class Running:
    """A ControlServer of 3 connections (idle ones closed after 0.3 s) on its own loop."""

    def __init__(self, path: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.daemon = SlowDaemon()
        self.daemon.release = asyncio.Event()
        self.server = ControlServer(self.daemon, path, PeerPolicy(frozenset({os.getuid()}), frozenset()),  # type: ignore[arg-type]
                                    65536, max_connections=3, idle_timeout=0.3)  # fmt: skip
        self.path = path
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.run(self.server.start())

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    def release(self) -> None:
        self.loop.call_soon_threadsafe(self.daemon.release.set)

    def close(self) -> None:
        self.release()
        self.run(self.server.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture
def server(monkeypatch) -> Iterator[Running]:
    monkeypatch.setattr(server_module, "COMMANDS", {**commands.COMMANDS, "slow": Slow()})
    running = Running(short_dir() / "c.sock")
    yield running
    running.close()


def connect(path: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(5)
    sock.connect(str(path))
    return sock


def closed_by_server(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except OSError:
        return True


def test_deeply_nested_json_is_bad_json_and_the_connection_keeps_serving(server) -> None:
    import json

    with connect(server.path) as sock, sock.makefile("rb") as lines:
        sock.sendall(DEEP)
        reply = json.loads(lines.readline())
        assert reply["error"]["code"] == "bad_json"
        sock.sendall(b'{"cmd": "health"}\n')
        assert json.loads(lines.readline())["ok"]


def test_an_idle_flood_sheds_the_oldest_and_status_answers_at_once(server) -> None:
    flood = [connect(server.path) for _ in range(300)]
    try:
        started = time.monotonic()
        assert call(server.path, "status", None, 1.0)["ok"]
        assert call(server.path, "flatten", {"strategy": "x"}, 1.0)["error"]["code"] != "busy"
        assert time.monotonic() - started < 1.0
        assert closed_by_server(flood[0])
        assert server.server.admission.shed >= 290
    finally:
        for sock in flood:
            sock.close()


def test_a_silent_connection_is_closed_after_the_idle_timeout(server) -> None:
    with connect(server.path) as sock:
        assert closed_by_server(sock)


def test_with_every_slot_busy_status_still_answers_and_others_are_told_busy(server) -> None:
    import json

    busy = [connect(server.path) for _ in range(3)]
    try:
        for sock in busy:
            sock.sendall(b'{"cmd": "slow"}\n')
        eventually(lambda: server.server.admission.answering == 3, 5, "every slot answering")
        assert call(server.path, "status", None, 1.0)["ok"]
        refused = call(server.path, "reload", None, 1.0)
        assert refused["error"]["code"] == "busy" and "status" in refused["error"]["message"]
        server.release()
        assert all(json.loads(s.makefile("rb").readline())["ok"] for s in busy)
        assert call(server.path, "reload", None, 5.0)["ok"]
    finally:
        for sock in busy:
            sock.close()


def test_admission_sheds_the_idle_longest_then_reserves_then_turns_away() -> None:
    admission = Admission(2, reserved=1)
    first, second = admission.admit(1.0), admission.admit(2.0)
    assert first and second and not first.reserved
    admission.busy(second)
    third = admission.admit(3.0)  # sheds `first`, the only idle one
    assert third and not third.reserved and admission.shed == 1 and len(admission) == 2
    admission.busy(third)
    reserved = admission.admit(4.0)
    assert reserved and reserved.reserved
    assert admission.admit(5.0) is None  # every ordinary slot answering, the reserve taken
    admission.leave(second)
    assert admission.admit(6.0) is not None


STARVED = """
import asyncio, concurrent.futures.thread, os, resource, sys
from pathlib import Path
from tests.control.test_server import SlowDaemon
from tradd.control.peers import PeerPolicy
from tradd.control.server import ControlServer

async def main():
    server = ControlServer(SlowDaemon(), Path(sys.argv[1]),
                           PeerPolicy(frozenset({os.getuid()}), frozenset()), 65536,
                           max_connections=4, idle_timeout=30)
    await server.start()
    # every descriptor below the spare is in use: nothing new but what the spare gives up
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (server._spare._fd + 1, hard))
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    # room again before exiting: a thread ended at exit loads libgcc_s (a descriptor)
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    await server.stop()

asyncio.run(main())
"""


def test_out_of_descriptors_the_server_sheds_idle_connections_and_answers_status() -> None:
    import subprocess
    import sys

    from tests.conftest import ROOT

    folder = short_dir()
    path = folder / "c.sock"
    proc = subprocess.Popen([sys.executable, "-c", STARVED, str(path)], cwd=ROOT,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    flood: list[socket.socket] = []
    try:
        assert proc.stdout is not None
        while proc.stdout.readline() not in ("ready\n", ""):
            pass  # structlog's default output goes to stdout too
        flood = [connect(path) for _ in range(20)]
        for _ in range(3):
            started = time.monotonic()
            assert call(path, "status", None, 1.0)["ok"]
            assert time.monotonic() - started < 1.0
    finally:
        for sock in flood:
            sock.close()
        _, err = proc.communicate("", timeout=10)
    assert proc.returncode == 0 and "Traceback" not in err, err
