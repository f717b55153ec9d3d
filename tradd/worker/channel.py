"""The worker's command channel: a Unix socket speaking JSON lines.

One request per line, `{"cmd": "status"}`, one reply per line, `{"ok": true, "result":
...}` or `{"ok": false, "error": {"code": ..., "message": ...}}`: the records and codes of
`tradd.records.worker_protocol`. The socket thread only
parses and waits: each command is queued into the worker's main loop (the same queue IB
events use) and carried out there, so commands never race the strategy. A main loop that
does not answer within the timeout gets a `timeout` error back, which is exactly what a
supervisor needs to know about a hung worker.

The one exception is `heartbeat`, the supervisor's: answered here, from what the main loop
last published (`tradd.worker.pulse`), with how long ago its last turn ended. A loop busy
with a backlog is still turning and says so at once; a loop that stopped turning says that
too. Until the loop has published anything, a heartbeat is queued like `status`.

The socket serves a bounded number of connections and closes idle ones (see `listener`):
a client that holds connections open cannot keep the supervisor's heartbeat out.
"""

from __future__ import annotations

import json
import os
import queue
import socket
import socketserver
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from tradd.records.worker_protocol import (
    MAX_REQUEST,
    WorkerCommand,
    WorkerError,
    WorkerErrorCode,
    WorkerReply,
    parse_request,
)
from tradd.worker.listener import ChannelServer, Connections

log = structlog.get_logger("tradd.worker.channel")
ANSWER_TIMEOUT = 10.0
"""Seconds the main loop has to answer a command (flatten and stop: the flatten timeout)."""
LONG = frozenset({WorkerCommand.FLATTEN, WorkerCommand.STOP})
"""Commands that may take the flatten timeout to answer."""


@dataclass(frozen=True)
class Command:
    """A request on its way to the main loop, and the future its reply is set on."""

    name: WorkerCommand
    args: Mapping[str, Any]
    reply: Future[dict[str, Any]] = field(default_factory=Future, compare=False)


class CommandError(Exception):
    """The worker refuses a command: raised where it is carried out, answered as an error."""

    def __init__(self, code: WorkerErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code

    @property
    def reply(self) -> WorkerReply:
        return WorkerReply.refused(self.code, str(self))


class CommandChannel:
    """Serve `path` until `close`; commands go to `inbox`."""

    def __init__(
        self,
        path: Path,
        inbox: queue.SimpleQueue[object],
        timeout: float,
        *,
        max_connections: int = 16,
        idle_timeout: float = 60.0,
        beat: Callable[[], dict[str, Any] | None] = lambda: None,
    ) -> None:
        self.path, self._inbox, self._timeout, self._beat = path, inbox, timeout, beat
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() or path.is_symlink():
            path.unlink()
        channel = self
        self.connections = Connections(max_connections)

        class Handler(socketserver.StreamRequestHandler):
            timeout = idle_timeout  # a silent connection's read ends with TimeoutError

            def handle(self) -> None:
                channel._serve(self.rfile, self.wfile, self.connection)

        self._server = ChannelServer(str(path), Handler, self.connections)
        os.chmod(path, 0o600)  # the supervisor runs as the same user; operators use tradctl
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="channel", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        if self._thread.is_alive():  # shutdown() waits for a serve loop that never ran
            self._server.shutdown()
        self._server.server_close()
        if self.path.exists():
            self.path.unlink()

    def _serve(self, rfile: Any, wfile: Any, conn: socket.socket) -> None:
        while True:
            self.connections.idle(conn, True)
            try:
                line = rfile.readline(MAX_REQUEST + 1)
            except OSError:  # idle too long (TimeoutError), or shed to make room
                return
            if not line:
                return
            self.connections.idle(conn, False)
            if len(line) > MAX_REQUEST and not line.endswith(b"\n"):
                try:
                    _discard_line(rfile)  # the rest of an oversized request is not a request
                except OSError:
                    return
            reply = self._answer(line)
            try:
                wfile.write(reply.line())
                wfile.flush()
            except OSError:
                return

    def _answer(self, line: bytes) -> WorkerReply:
        request = parse_request(line)
        if isinstance(request, WorkerError):
            return WorkerReply(error=request)
        name = request.command
        if name is WorkerCommand.HEARTBEAT:
            beat = self._beat()
            if beat is not None:
                return WorkerReply(result=beat)
            name = WorkerCommand.STATUS  # nothing published yet: the main loop answers it
        command = Command(name, request.args)
        self._inbox.put(command)
        timeout = self._timeout if name in LONG else ANSWER_TIMEOUT
        try:
            return WorkerReply(result=command.reply.result(timeout + 2.0))
        except FutureTimeout:
            return WorkerReply.refused(WorkerErrorCode.TIMEOUT, _late(command))
        except CommandError as exc:
            return exc.reply


def _late(command: Command) -> str:
    """A timeout's message. An `enter` still queued is withdrawn (the main loop skips it):
    an order placed after its caller heard "timeout" is one a retry would place twice."""
    late = f"the worker did not answer {str(command.name)!r} in time"
    if command.name is not WorkerCommand.ENTER:
        return late
    if command.reply.cancel():
        return f"{late}: withdrawn before it ran, nothing placed"
    return f"{late}: it is running, the entry may have been placed"


def _discard_line(rfile: Any) -> None:
    while True:
        chunk = rfile.readline(MAX_REQUEST)
        if not chunk or chunk.endswith(b"\n"):
            return


def request(path: Path, cmd: str, timeout: float = 15.0, **args: Any) -> dict[str, Any]:
    """Send one command and return the decoded reply as sent (a small client for tests and
    tools: it sends any `cmd`, known or not, to see what the worker answers)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(path))
        sock.sendall(json.dumps({"cmd": cmd, **args}).encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    reply: dict[str, Any] = json.loads(data)
    return reply
