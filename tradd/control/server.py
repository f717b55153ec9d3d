"""The control server: a Unix socket on the supervisor's loop.

Each connection is checked against the peer policy, then served line by line. A line
over `max_request` bytes gets `too_large` (its rest is discarded); anything malformed
gets its error; an exception inside a command becomes an `internal` error. None of it
can stop the daemon. Mutating commands run one at a time (`conflict` otherwise).

Connections are capped (`max_connections`, see `admission`) and closed after
`idle_timeout` seconds without a request, so a flood of idle clients costs a bounded
number of descriptors and never locks out `status` or `flatten`. When the process is out
of descriptors anyway, the accept loop gives up a spare one to accept, sheds an idle
connection to make room, and otherwise backs off instead of spinning.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from tradd.control.admission import ESSENTIAL, Admission, Slot
from tradd.control.commands import COMMANDS
from tradd.control.peers import PeerPolicy, peer_of
from tradd.control.protocol import ErrorCode, ProtocolError, error_reply, ok_reply, parse_request
from tradd.errors import ConfigError, TraddError
from tradd.records.busy import Busy, BusyKind
from tradd.resources import SpareDescriptor, out_of_resources

if TYPE_CHECKING:
    from tradd.supervisor.daemon import Supervisor

log = structlog.get_logger("tradd.control")


BACKLOG = 512
"""Connections the kernel queues before the loop accepts them: a burst of clients (a
script polling, a flatten from every terminal) must not be refused while the loop works."""
ACCEPT_PAUSE = (0.05, 1.0)
"""First and longest pause of the accept loop after a failed accept (doubling between)."""
SHED_PAUSE = 0.01
"""Out of descriptors with the spare in use: shed an idle connection, wait this long for
its descriptor to close, accept again."""
BUSY_READ = 0.5
"""How long a connection turned away may take to send its request before it hears `busy`."""


class ControlServer:
    def __init__(
        self,
        daemon: Supervisor,
        path: Path,
        policy: PeerPolicy,
        max_request: int,
        *,
        max_connections: int = 64,
        idle_timeout: float = 60.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.daemon, self.path, self.policy, self.max_request = daemon, path, policy, max_request
        self.idle_timeout, self._monotonic = idle_timeout, monotonic
        self.admission = Admission(max_connections)
        self._listener: socket.socket | None = None
        self._acceptor: asyncio.Task[None] | None = None
        self._clients: set[asyncio.Task[None]] = set()
        self._spare: SpareDescriptor | None = None

    async def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o750)
        if self.path.is_socket() or self.path.is_symlink():
            if _answers(self.path):
                raise TraddError(f"control socket {self.path}: another tradd is running there")
            self.path.unlink()  # left by a daemon that died
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(str(self.path))
            listener.listen(BACKLOG)
        except OSError as exc:
            listener.close()
            raise ConfigError(f"control.socket {self.path}: cannot listen: {exc}") from None
        listener.setblocking(False)
        os.chmod(self.path, 0o660)
        self._listener, self._spare = listener, SpareDescriptor()
        self._acceptor = asyncio.get_running_loop().create_task(self._accept_loop())
        log.info("control socket listening", path=str(self.path))

    async def stop(self) -> None:
        if self._acceptor is not None:
            self._acceptor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._acceptor
            self._acceptor = None
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        for task in list(self._clients):
            task.cancel()
        if self._clients:
            await asyncio.wait(list(self._clients), timeout=5.0)
        if self._spare is not None:
            self._spare.close()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    # -- accepting ----------------------------------------------------------------------------
    async def _accept_loop(self) -> None:
        assert self._listener is not None
        loop = asyncio.get_running_loop()
        pause = ACCEPT_PAUSE[0]
        while True:
            self._take_spare()
            conn: socket.socket | None
            try:
                conn, _ = await loop.sock_accept(self._listener)
            except OSError as exc:
                short = out_of_resources(exc)
                if short:  # Linux says EMFILE before it looks for a waiting connection
                    await self._pending()
                conn = self._accept_into_spare() if short else None
                if conn is None and short and self.admission.shed_idle():
                    await asyncio.sleep(SHED_PAUSE)  # its descriptor is free in a moment
                    continue
                if conn is None:
                    log.warning("control socket cannot accept; pausing", error=str(exc))
                    await asyncio.sleep(pause)
                    pause = min(pause * 2, ACCEPT_PAUSE[1])
                    continue
            pause = ACCEPT_PAUSE[0]
            self._start_client(conn)
            await asyncio.sleep(0)  # let the shed connections close before the next accept

    async def _pending(self) -> None:
        """Until a connection waits on the listener: out of descriptors, accept fails
        whether or not one does, and nobody should be shed for a connection not there."""
        assert self._listener is not None
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()
        fd = self._listener.fileno()
        loop.add_reader(fd, _resolve, ready)
        try:
            await ready
        finally:
            loop.remove_reader(fd)

    def _accept_into_spare(self) -> socket.socket | None:
        """Out of descriptors: free the spare, accept into it, shed an idle connection so
        the spare can be taken back. None if there was no spare or nobody waiting."""
        if self._spare is None or self._listener is None or not self._spare.release():
            return None
        try:
            conn, _ = self._listener.accept()
        except OSError:
            self._take_spare()
            return None
        self.admission.shed_idle()
        return conn

    def _take_spare(self) -> None:
        if self._spare is not None:
            self._spare.take()

    def _start_client(self, conn: socket.socket) -> None:
        slot = self.admission.admit(self._monotonic())
        task = asyncio.get_running_loop().create_task(self._client(conn, slot))
        if slot is not None:
            slot.task = task
        self._clients.add(task)
        task.add_done_callback(self._clients.discard)

    # -- serving ------------------------------------------------------------------------------
    async def _client(self, conn: socket.socket, slot: Slot | None) -> None:
        writer: asyncio.StreamWriter | None = None
        try:
            reader, writer = await asyncio.open_unix_connection(
                sock=conn, limit=self.max_request + 1
            )
            if slot is not None:
                slot.abort = writer.transport.abort
            if slot is None:
                await _turn_away(reader, writer)
            elif await self._admitted(writer):
                await self._serve(reader, writer, slot)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self.admission.leave(slot)
            await _close(writer, conn)
            self._take_spare()

    async def _admitted(self, writer: asyncio.StreamWriter) -> bool:
        peer = peer_of(writer.get_extra_info("socket"))
        if self.policy.allows(peer):
            return True
        log.warning("control connection refused", uid=peer.uid, gid=peer.gid, pid=peer.pid)
        writer.write(error_reply(ErrorCode.FORBIDDEN, f"uid {peer.uid} may not use this socket"))
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        return False

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, slot: Slot
    ) -> None:
        while True:
            self.admission.idle(slot, self._monotonic())
            try:
                line = await asyncio.wait_for(reader.readuntil(b"\n"), self.idle_timeout)
            except TimeoutError:
                log.debug("control connection idle; closed", idle_timeout=self.idle_timeout)
                return
            except asyncio.LimitOverrunError:
                await _discard_line(reader)
                writer.write(
                    error_reply(ErrorCode.TOO_LARGE, f"request over {self.max_request} bytes")
                )
                await writer.drain()
                continue
            except asyncio.IncompleteReadError as exc:
                if exc.partial.strip():
                    writer.write(
                        error_reply(ErrorCode.BAD_REQUEST, "request not ended by a newline")
                    )
                    await writer.drain()
                return
            self.admission.busy(slot)
            writer.write(await self.answer(line, essential_only=slot.reserved))
            await writer.drain()
            if slot.reserved:
                return  # a reserved slot serves one request, then makes room again

    async def answer(self, line: bytes, *, essential_only: bool = False) -> bytes:
        """One request line in, one reply line out; never raises. `essential_only`: a
        reserved slot, which answers only status, health and flatten."""
        try:
            if len(line) > self.max_request + 1:
                raise ProtocolError(ErrorCode.TOO_LARGE, f"request over {self.max_request} bytes")
            request = parse_request(line)
            command = COMMANDS.get(request.cmd)
            if command is None:
                known = ", ".join(sorted(COMMANDS))
                raise ProtocolError(
                    ErrorCode.UNKNOWN_COMMAND, f"cmd {request.cmd!r}: one of {known}"
                )
            if essential_only and command.name not in ESSENTIAL:
                raise ProtocolError(
                    ErrorCode.BUSY,
                    f"every connection is busy: only {', '.join(sorted(ESSENTIAL))} now",
                )
            args = command.validate(request.args)
            if not command.mutating:
                return ok_reply(await command.execute(self.daemon, args))
            daemon = self.daemon
            if getattr(daemon, "stopping", False) and command.name != "flatten":
                raise ProtocolError(ErrorCode.UNAVAILABLE, "the daemon is stopping")
            if daemon.busy is not None:
                raise ProtocolError(
                    ErrorCode.CONFLICT, f"{daemon.busy} in progress; try again when it is done"
                )
            daemon.busy = Busy(BusyKind(command.name))
            try:
                log.info("control command", cmd=command.name, args=args)
                return ok_reply(await command.execute(self.daemon, args))
            finally:
                daemon.busy = None
        except ProtocolError as exc:
            return error_reply(exc.code, str(exc), exc.details)
        except Exception as exc:
            log.exception("control command failed")
            return error_reply(ErrorCode.INTERNAL, f"internal error: {exc!r}")


async def _discard_line(reader: asyncio.StreamReader) -> None:
    """Drop the rest of an oversized line (up to its newline)."""
    while True:
        try:
            await reader.readuntil(b"\n")
            return
        except asyncio.LimitOverrunError as exc:
            await reader.readexactly(exc.consumed)
        except asyncio.IncompleteReadError:
            return


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


async def _turn_away(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Every slot is busy: read the request (a client whose request is not read gets a
    broken pipe, not an answer), then say `busy`."""
    with contextlib.suppress(TimeoutError, asyncio.LimitOverrunError, asyncio.IncompleteReadError):
        await asyncio.wait_for(reader.readuntil(b"\n"), BUSY_READ)
    writer.write(error_reply(ErrorCode.BUSY, "every connection is busy; try again"))
    await writer.drain()


async def _close(writer: asyncio.StreamWriter | None, conn: socket.socket) -> None:
    """Close the connection and wait until its descriptor is really gone (so the spare can
    be taken back)."""
    if writer is None:
        conn.close()
        return
    writer.close()
    with contextlib.suppress(Exception, asyncio.CancelledError):
        await writer.wait_closed()


def _answers(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        try:
            probe.connect(str(path))
        except OSError:
            return False
    return True
