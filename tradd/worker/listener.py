"""The command channel's socket server: a thread per connection, but a bounded number.

At most `limit` connections are served at once; one more sheds the connection idle
longest (its thread sees end-of-file and ends), or, when every one is answering a
command, is told `busy`. A connection silent for `idle_timeout` seconds is closed. Out of
descriptors, the accept gives up a spare one and sheds an idle connection; otherwise it
pauses (doubling, up to a second) instead of spinning on a listener that stays readable.
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
import time
from collections.abc import Callable
from typing import Any

import structlog

from tradd.records.worker_protocol import WorkerErrorCode, WorkerReply
from tradd.resources import SpareDescriptor, out_of_resources

log = structlog.get_logger("tradd.worker.channel")
ACCEPT_PAUSE = (0.05, 1.0)
SHED_PAUSE = 0.01
BUSY_READ = 0.2
"""How long a connection turned away waits for its request before it is told `busy`."""
BUSY = WorkerReply.refused(WorkerErrorCode.BUSY, "every connection is busy").line()


class Connections:
    """The open connections, oldest first, and whether each waits for a request."""

    def __init__(self, limit: int, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.limit, self._monotonic = limit, monotonic
        self._lock = threading.Lock()
        self._open: dict[socket.socket, tuple[bool, float]] = {}  # -> (idle, since)
        self.shed = 0

    def add(self, conn: socket.socket) -> bool:
        """Admit `conn`, shedding the connection idle longest at the cap; False if full."""
        with self._lock:
            if len(self._open) >= self.limit and not self._shed_idle():
                return False
            self._open[conn] = (True, self._monotonic())
            return True

    def shed_idle(self) -> bool:
        with self._lock:
            return self._shed_idle()

    def idle(self, conn: socket.socket, idle: bool) -> None:
        with self._lock:
            if conn in self._open:
                self._open[conn] = (idle, self._monotonic())

    def remove(self, conn: socket.socket) -> None:
        with self._lock:
            self._open.pop(conn, None)

    def _shed_idle(self) -> bool:
        idle = [(since, id(c), c) for c, (is_idle, since) in self._open.items() if is_idle]
        if not idle:
            return False
        victim = min(idle)[2]
        del self._open[victim]
        with contextlib.suppress(OSError):
            victim.shutdown(socket.SHUT_RDWR)  # its reader thread sees EOF and closes it
        self.shed += 1
        return True


class ChannelServer(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True
    request_queue_size = 128
    """The listen backlog (socketserver's default is 5): a burst of connections waits to
    be accepted, and shed, rather than refuse the supervisor's next heartbeat."""

    def __init__(
        self,
        path: str,
        handler: type[socketserver.BaseRequestHandler],
        connections: Connections,
    ) -> None:
        super().__init__(path, handler)
        self.connections = connections
        self._spare = SpareDescriptor()
        self._pause = ACCEPT_PAUSE[0]

    def get_request(self) -> tuple[socket.socket, Any]:
        self._spare.take()
        try:
            request = self.socket.accept()
        except OSError as exc:
            short = out_of_resources(exc)
            request_or_none = self._accept_into_spare() if short else None
            if request_or_none is None and short and self.connections.shed_idle():
                time.sleep(SHED_PAUSE)  # the shed connection's thread closes it meanwhile
                raise
            if request_or_none is None:
                log.warning("worker channel cannot accept; pausing", error=str(exc))
                time.sleep(self._pause)  # the serve thread's own: nothing else waits on it
                self._pause = min(self._pause * 2, ACCEPT_PAUSE[1])
                raise
            request = request_or_none
        self._pause = ACCEPT_PAUSE[0]
        return request

    def _accept_into_spare(self) -> tuple[socket.socket, Any] | None:
        if not self._spare.release():
            return None
        try:
            request = self.socket.accept()
        except OSError:
            self._spare.take()
            return None
        self.connections.shed_idle()
        return request

    def process_request(self, request: Any, client_address: Any) -> None:
        if self.connections.add(request):
            super().process_request(request, client_address)
            return
        with contextlib.suppress(OSError):  # read what it sent (else it gets EPIPE, not busy)
            request.settimeout(BUSY_READ)
            request.recv(65536)
            request.sendall(BUSY)
        self.shutdown_request(request)

    def shutdown_request(self, request: Any) -> None:
        self.connections.remove(request)
        super().shutdown_request(request)
        self._spare.take()

    def server_close(self) -> None:
        super().server_close()
        self._spare.close()
