"""The worker's command socket under abuse: deeply nested JSON, idle floods, silent
connections and every slot busy. The supervisor's heartbeat must always get through."""

from __future__ import annotations

import json
import queue
import shutil
import socket
import threading
from collections.abc import Iterator

import pytest

from tests.fixtures.simulator import eventually
from tests.worker.test_units_channel import Client, short_dir
from tradd.worker.channel import Command, CommandChannel, request

DEEP = b'{"cmd": "status", "x": ' + b"[" * 20000 + b"]" * 20000 + b"}\n"


class Answering:
    """A fake main loop: answers every command at once, but keeps `status` ones until
    `release` (so their connections stay busy)."""

    def __init__(self, inbox: queue.SimpleQueue[object]) -> None:
        self.inbox = inbox
        self.held: list[Command] = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            command = self.inbox.get()
            if command is None:
                return
            assert isinstance(command, Command)
            if command.name == "status":
                self.held.append(command)
            else:
                command.reply.set_result({"name": command.name})

    def release(self) -> None:
        for command in self.held:
            if not command.reply.done():
                command.reply.set_result({"name": command.name})

    def close(self) -> None:
        self.release()
        self.inbox.put(None)
        self.thread.join(5)


@pytest.fixture
def small() -> Iterator[tuple[CommandChannel, Answering]]:
    """A channel of 3 connections whose silent ones close after 0.3 s."""
    folder = short_dir()
    inbox: queue.SimpleQueue[object] = queue.SimpleQueue()
    channel = CommandChannel(folder / "w.sock", inbox, 5.0, max_connections=3,
                             idle_timeout=0.3)  # fmt: skip
    channel.start()
    loop = Answering(inbox)
    yield channel, loop
    loop.close()
    channel.close()
    shutil.rmtree(folder, ignore_errors=True)


def closed_by_server(sock: socket.socket) -> bool:
    sock.settimeout(5)
    try:
        return sock.recv(1) == b""
    except OSError:
        return True


def test_deeply_nested_json_is_bad_json_and_the_connection_keeps_serving(small) -> None:
    channel, _ = small
    client = Client(channel.path)
    try:
        client.send(DEEP)
        reply = client.reply()
        assert reply["error"]["code"] == "bad_json" and "nested" in reply["error"]["message"]
        client.send(b'{"cmd": "ping"}\n')
        assert client.reply() == {"ok": True, "result": {"name": "ping"}}
    finally:
        client.close()


def test_an_idle_flood_sheds_the_oldest_and_the_heartbeat_gets_in(small) -> None:
    channel, _ = small
    flood = [socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) for _ in range(50)]
    try:
        for sock in flood:
            sock.connect(str(channel.path))
        assert request(channel.path, "ping", timeout=2) == {"ok": True, "result": {"name": "ping"}}
        assert closed_by_server(flood[0])
        assert channel.connections.shed >= 48
    finally:
        for sock in flood:
            sock.close()


def test_a_silent_connection_is_closed_after_the_idle_timeout(small) -> None:
    channel, _ = small
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(str(channel.path))
        assert closed_by_server(sock)


def test_every_slot_answering_a_command_gets_a_new_connection_busy(small) -> None:
    channel, loop = small
    waiting = [Client(channel.path) for _ in range(3)]
    try:
        for client in waiting:
            client.send(b'{"cmd": "status"}\n')  # held by the main loop: every slot busy
        eventually(lambda: len(loop.held) == 3, 5, "three statuses held")
        reply = request(channel.path, "ping", timeout=5)
        assert reply["error"]["code"] == "busy"
        loop.release()
        assert all(c.reply()["ok"] for c in waiting)
        assert request(channel.path, "ping", timeout=5)["ok"]
    finally:
        for client in waiting:
            client.close()


def test_the_busy_reply_is_a_json_error_line() -> None:
    from tradd.worker.listener import BUSY

    assert json.loads(BUSY)["error"]["code"] == "busy"


STARVED = """
import queue, resource, sys, threading
from pathlib import Path
from tradd.worker.channel import CommandChannel

inbox = queue.SimpleQueue()
channel = CommandChannel(Path(sys.argv[1]), inbox, 5.0, max_connections=4, idle_timeout=30)
channel.start()

def answer():
    while True:
        command = inbox.get()
        command.reply.set_result({"name": command.name})

threading.Thread(target=answer, daemon=True).start()
# The spare was the lowest free descriptor when it was opened: every one below it is
# in use, so with this limit nothing new can be opened but what the spare gives up.
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (channel._server._spare._fd + 1, hard))
print("ready", flush=True)
sys.stdin.read()
# room again before exiting: a thread ended at exit loads libgcc_s, which needs a descriptor
resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
channel.close()
"""


def test_out_of_descriptors_the_channel_sheds_idle_connections_and_still_answers() -> None:
    import subprocess
    import sys

    folder = short_dir()
    path = folder / "w.sock"
    proc = subprocess.Popen([sys.executable, "-c", STARVED, str(path)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    flood: list[socket.socket] = []
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        for _ in range(20):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(str(path))
            flood.append(sock)
        for _ in range(3):
            assert request(path, "ping", timeout=5) == {"ok": True, "result": {"name": "ping"}}
    finally:
        for sock in flood:
            sock.close()
        _, err = proc.communicate("", timeout=10)
        shutil.rmtree(folder, ignore_errors=True)
    assert proc.returncode == 0 and "Traceback" not in err, err
    assert err.count("cannot accept") < 30, err  # paused, did not spin
