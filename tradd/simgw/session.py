"""One client connection: handshake, framing, and writes that can be stalled.

A session never raises into the event loop: a bad frame closes only this
connection (as TWS does on garbage), a bad message is answered with an error
and the connection carries on.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import Callable
from datetime import datetime
from typing import Any

import structlog

from tradd.simgw.wire import FieldValue, FrameReader, ProtocolError, encode

log = structlog.get_logger("tradd.simgw.session")

Dispatch = Callable[["ClientSession", list[str]], None]


class ClientSession(asyncio.Protocol):
    """A TWS API client connection."""

    def __init__(
        self,
        dispatch: Dispatch,
        on_lost: Callable[[ClientSession], None],
        connected_at: Callable[[], float],
        tz: str,
    ) -> None:
        self._dispatch = dispatch
        self._on_lost = on_lost
        self._connected_at = connected_at
        self._tz = tz
        self._reader = FrameReader()
        self._transport: asyncio.Transport | None = None
        self._pending: list[bytes] = []
        self._flush_scheduled = False
        self.held: list[bytes] | None = None  # not None while stalled
        self.version = 0
        self.client_id: int | None = None
        self.account_updates = False
        self.positions_updates = False
        self.account_multi: set[int] = set()
        self.account_summaries: dict[int, str] = {}  # active reqAccountSummary: id -> tags
        self.market_data_type = 1
        self.peer: Any = None
        self.messages_sent = 0

    # ---- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self.peer = transport.get_extra_info("peername")

    def data_received(self, data: bytes) -> None:
        try:
            messages = self._reader.feed(data)
        except ProtocolError as exc:
            log.warning("simgw.protocol_error", peer=self.peer, error=str(exc))
            self.close()
            return
        if self.version == 0 and self._reader.hello is not None:
            self._answer_hello()
        for fields in messages:
            if self._transport is None:
                return
            self._dispatch(self, fields)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._reader.pending:
            log.info(
                "simgw.client_vanished_mid_message", peer=self.peer, bytes=self._reader.pending
            )
        self._transport = None
        self._on_lost(self)

    # ---- output ----------------------------------------------------------------------------

    @property
    def open(self) -> bool:
        return self._transport is not None and self.client_id is not None

    def send(self, fields: list[FieldValue]) -> None:
        """Queue one message; writes are coalesced once per event-loop turn."""
        if self._transport is not None:
            self.send_frame(encode(fields))

    def send_frame(self, frame: bytes) -> None:
        """Queue one already framed message."""
        if self._transport is None:
            return
        self.messages_sent += 1
        if self.held is not None:
            self.held.append(frame)
            return
        self._pending.append(frame)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        if self._transport is not None and self._pending:
            self._transport.write(b"".join(self._pending))
        self._pending.clear()

    def stall(self) -> None:
        """Keep the socket but stop sending; messages wait in ``held``."""
        if self.held is None:
            self.held = []
            if self._transport is not None:
                self._transport.pause_reading()

    def unstall(self) -> None:
        held, self.held = self.held, None
        if self._transport is not None:
            self._transport.resume_reading()
            if held:
                self._transport.write(b"".join(held))

    def close(self, *, reset: bool = False) -> None:
        """Close with FIN, or with RST when ``reset``."""
        if self._transport is None:
            return
        self._flush()
        if reset:
            sock = self._transport.get_extra_info("socket")
            if sock is not None:  # linger 0: abort() then sends RST even on an idle socket
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self._transport.abort()
        else:
            self._transport.close()

    def _answer_hello(self) -> None:
        hello = self._reader.hello
        assert hello is not None
        try:
            self.version = hello.negotiate()
        except ProtocolError as exc:
            log.warning("simgw.version_mismatch", peer=self.peer, error=str(exc))
            self.close()
            return
        stamp = datetime.fromtimestamp(self._connected_at()).strftime("%Y%m%d %H:%M:%S")
        assert self._transport is not None
        self._transport.write(encode([self.version, f"{stamp} {self._tz}"]))
