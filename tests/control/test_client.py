"""The control client: a busy daemon (its accept queue full) is waited for, not 'gone'."""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from tradd.control.client import call


def fill_backlog(path: Path) -> list[socket.socket]:
    """Connections until the kernel refuses more with EAGAIN (the queue is full)."""
    queued = []
    while True:
        sock = socket.socket(socket.AF_UNIX)
        sock.setblocking(False)
        try:
            sock.connect(str(path))
        except BlockingIOError:
            sock.close()
            return queued
        queued.append(sock)


def test_a_full_accept_queue_is_waited_out(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "control.sock"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        server.listen(1)
        server.settimeout(10)
        queued = fill_backlog(path)
        assert queued, "the queue takes at least one connection"
        outcome: dict[str, Any] = {}
        refused = threading.Event()

        def pause(seconds: float) -> None:  # the client's wait between attempts
            refused.set()
            time.sleep(seconds)

        clock = SimpleNamespace(monotonic=time.monotonic, sleep=pause)
        monkeypatch.setattr("tradd.control.client.time", clock)

        def client() -> None:
            try:
                outcome["reply"] = call(path, "health", None, timeout=10)
            except Exception as exc:  # reported below
                outcome["error"] = exc

        thread = threading.Thread(target=client)
        thread.start()
        refused.wait(10)  # the client met the full queue (without the retry: an error)
        for _ in queued:  # the busy daemon gets round to the queue...
            server.accept()[0].close()
        conn, _ = server.accept()  # ...then to the client that waited its turn
        with conn:
            request = json.loads(conn.makefile("rb").readline())
            assert request["cmd"] == "health"
            conn.sendall(b'{"v": 1, "ok": true, "result": {"healthy": true}}\n')
        thread.join(10)
        for sock in queued:
            sock.close()
    assert "error" not in outcome, outcome.get("error")
    assert outcome["reply"]["result"] == {"healthy": True}
