"""The control server: a Unix socket on the supervisor's loop.

Each connection is checked against the peer policy, then served line by line. A line
over `max_request` bytes gets `too_large` (its rest is discarded); anything malformed
gets its error; an exception inside a command becomes an `internal` error. None of it
can stop the daemon. Mutating commands run one at a time (`conflict` otherwise).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from tradd.control.commands import COMMANDS
from tradd.control.peers import PeerPolicy, peer_of
from tradd.control.protocol import ErrorCode, ProtocolError, error_reply, ok_reply, parse_request
from tradd.errors import ConfigError, TraddError

if TYPE_CHECKING:
    from tradd.supervisor.daemon import Supervisor

log = structlog.get_logger("tradd.control")


BACKLOG = 512
"""Connections the kernel queues before the loop accepts them: a burst of clients (a
script polling, a flatten from every terminal) must not be refused while the loop works."""


class ControlServer:
    def __init__(
        self, daemon: Supervisor, path: Path, policy: PeerPolicy, max_request: int
    ) -> None:
        self.daemon, self.path, self.policy, self.max_request = daemon, path, policy, max_request
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o750)
        if self.path.is_socket() or self.path.is_symlink():
            if _answers(self.path):
                raise TraddError(f"control socket {self.path}: another tradd is running there")
            self.path.unlink()  # left by a daemon that died
        try:
            self._server = await asyncio.start_unix_server(
                self._client, str(self.path), limit=self.max_request + 1, backlog=BACKLOG
            )
        except OSError as exc:
            raise ConfigError(f"control.socket {self.path}: cannot listen: {exc}") from None
        os.chmod(self.path, 0o660)
        log.info("control socket listening", path=str(self.path))

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._clients):
                task.cancel()
            await self._server.wait_closed()
            self._server = None
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._clients.add(task)
        try:
            if await self._admitted(writer):
                await self._serve(reader, writer)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            if task is not None:
                self._clients.discard(task)
            writer.close()

    async def _admitted(self, writer: asyncio.StreamWriter) -> bool:
        peer = peer_of(writer.get_extra_info("socket"))
        if self.policy.allows(peer):
            return True
        log.warning("control connection refused", uid=peer.uid, gid=peer.gid, pid=peer.pid)
        writer.write(error_reply(ErrorCode.FORBIDDEN, f"uid {peer.uid} may not use this socket"))
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        return False

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                line = await reader.readuntil(b"\n")
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
            writer.write(await self.answer(line))
            await writer.drain()

    async def answer(self, line: bytes) -> bytes:
        """One request line in, one reply line out; never raises."""
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
            daemon.busy = command.name
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


def _answers(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        try:
            probe.connect(str(path))
        except OSError:
            return False
    return True
