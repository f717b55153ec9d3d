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

from tradd.cli.app import main

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

    def run(*args: str) -> tuple[int, str, str]:
        code = 0
        try:
            main(list(args))
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    return run


class FakeDaemon:
    """A control socket answering `status` with `fleet` and `enter` with `answers[symbol]`
    ("lost": the connection is closed unanswered, as when the daemon times out on it;
    default: executed). Every request is kept in `requests`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fleet: list[dict[str, Any]] = []
        self.answers: dict[str, Any] = {}
        self.requests: list[tuple[str, dict[str, Any]]] = []
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
            return {"ok": True, "result": {"strategies": self.fleet}}
        answer = self.answers.get(args["symbol"], "executed")
        if answer == "lost":
            return None
        if answer != "executed":
            return answer  # type: ignore[no-any-return]
        count = len(self.entries())
        quantity = args["value"] // 100.0
        return {"ok": True, "result": {
            "status": "executed", "strategy": args["strategy"], "symbol": args["symbol"],
            "side": "BUY", "quantity": quantity, "price": 100.0, "value": quantity * 100.0,
            "order_ref": f"{args['strategy']}-{count}"}}  # fmt: skip

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
