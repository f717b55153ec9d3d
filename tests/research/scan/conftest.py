"""`tradd` in this process on a database of the test's own, and a fake daemon to execute on."""

from __future__ import annotations

import json
import shutil
import socketserver
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ..conftest import run_main

Tradd = Callable[..., tuple[int, str, str]]


def environment(tmp_path: Path) -> dict[str, str]:
    return {
        "TRADD_DATABASE__URL": f"sqlite:///{tmp_path / 'state' / 'tradd.db'}",
        "TRADD_STATE_DIR": str(tmp_path / "state"),
        "TRADD_CONTROL__SOCKET": str(tmp_path / "run" / "control.sock"),
    }


@pytest.fixture
def tradd(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> Tradd:
    """`tradd ARGS` in this process: (exit code, stdout, stderr)."""
    for key, value in {**environment(tmp_path), "TRADD_LOG__DIR": str(tmp_path / "logs"),
                       "COLUMNS": "200"}.items():  # fmt: skip
        monkeypatch.setenv(key, value)

    return lambda *args: run_main(capsys, args)


class Refs:
    """A worker's client_ref memory, as tradd.worker.entry.Entries keeps it: a ref seen
    before with the same arguments gets its first reply again (nothing placed), with other
    arguments `conflict`. Only replies after which an order exists are remembered
    (executed); one that placed nothing (blocked, an error) is not, so the same ref may be
    asked again."""

    def __init__(self) -> None:
        self.seen: dict[str, tuple[tuple[object, ...], dict[str, Any]]] = {}

    def enter(self, args: dict[str, Any], fresh: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        ref = args.get("client_ref")
        key = (args["symbol"], args["side"], args.get("quantity"), args.get("value"))
        if ref in self.seen:
            first, reply = self.seen[ref]
            if first != key:
                message = f"s: client_ref {ref!r} was used for another entry"
                return {"ok": False, "error": {"code": "conflict", "message": message}}
            return reply
        reply = fresh()
        if ref is not None and (reply.get("result") or {}).get("status") == "executed":
            self.seen[ref] = (key, reply)
        return reply


def executed(args: dict[str, Any], order_ref: str) -> dict[str, Any]:
    """A worker's reply to an entry it placed: whole shares of `value` at 100."""
    quantity = args["value"] // 100.0
    return {"ok": True, "result": {
        "status": "executed", "strategy": args["strategy"], "symbol": args["symbol"],
        "side": "BUY", "quantity": quantity, "price": 100.0, "value": quantity * 100.0,
        "order_ref": order_ref}}  # fmt: skip


class FakeDaemon:
    """A control socket answering `status` with `fleet` (`status_replies`: only that many
    times, then closing unanswered, as a daemon that went away) and `enter` with
    `answers[symbol]` ("lost": placed, but the connection is closed unanswered, as when
    the daemon times out on it; default: executed), remembering refs as a worker does
    (`Refs`). Every request is kept in `requests`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fleet: list[dict[str, Any]] = []
        self.answers: dict[str, Any] = {}
        self.status_replies: int | None = None
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.refs = Refs()
        daemon = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                request = json.loads(self.rfile.readline())
                daemon.requests.append((request["cmd"], request["args"]))
                reply = daemon.reply(request["cmd"], request["args"])
                if reply is not None:
                    self.wfile.write(json.dumps(reply).encode() + b"\n")

        self.server = socketserver.ThreadingUnixStreamServer(str(path), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def reply(self, cmd: str, args: dict[str, Any]) -> dict[str, Any] | None:
        if cmd == "status":
            asked = sum(1 for c, _ in self.requests if c == "status")
            if self.status_replies is not None and asked > self.status_replies:
                return None
            return {"ok": True, "result": {"strategies": self.fleet}}
        answer = self.answers.get(args["symbol"], "executed")
        order_ref = f"{args['strategy']}-{len(self.entries())}"
        reply = self.refs.enter(
            args, lambda: executed(args, order_ref) if answer in ("executed", "lost") else answer
        )
        return None if answer == "lost" else reply

    def entries(self) -> list[dict[str, Any]]:
        return [args for cmd, args in self.requests if cmd == "enter"]


@pytest.fixture
def fake_daemon() -> Iterator[FakeDaemon]:
    directory = Path(tempfile.mkdtemp(prefix="tradd-scan-", dir="/tmp"))  # AF_UNIX: short
    daemon = FakeDaemon(directory / "control.sock")
    daemon.thread.start()
    try:
        yield daemon
    finally:
        daemon.server.shutdown()
        daemon.server.server_close()
        shutil.rmtree(directory, ignore_errors=True)
