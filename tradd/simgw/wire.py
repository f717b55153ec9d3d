"""TWS API framing: 4-byte big-endian length, then NUL-terminated UTF-8 fields.

Kept free of any knowledge about message meaning so it can be tested (and
benchmarked) on its own. Field values are formatted the way TWS formats them:
``None`` becomes the empty string, booleans ``1``/``0``, floats via ``str()``.

This is the text protocol of server version 176. From server version 201 IB sends the
message id as a binary int and many messages as protobuf (id + 200); where that codec
would plug in is described in docs/simgw-protocol.md.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass

HELLO_PREFIX = b"API\0"
MAX_FRAME = 16 * 1024 * 1024
SERVER_VERSION = 176
MIN_CLIENT_VERSION = 157

FieldValue = str | int | float | bool | None


class ProtocolError(Exception):
    """The peer sent bytes that are not a valid TWS API message."""


def fmt(value: FieldValue) -> str:
    """One field as TWS writes it."""
    if value is None:
        return ""
    if value is True:
        return "1"
    if value is False:
        return "0"
    return str(value)


def encode(fields: Iterable[FieldValue]) -> bytes:
    """Frame one message."""
    return frame(payload(fields))


def payload(fields: Iterable[FieldValue]) -> bytes:
    """Fields as NUL-terminated UTF-8, unframed (to share a tail between messages).

    One join over a list (strings, most fields, taken as they are) rather than a
    generator of concatenations: every message the simulator sends passes here, and
    account updates alone are a few hundred messages per simulated minute.
    """
    parts = [f if type(f) is str else fmt(f) for f in fields]
    if not parts:
        return b""
    parts.append("")  # the last field's terminator
    return "\0".join(parts).encode()


def frame(body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + body


@dataclass(frozen=True)
class Hello:
    """The client's version range and connect options from the opening bytes."""

    min_version: int
    max_version: int
    options: str

    def negotiate(self) -> int:
        """The version a real gateway would answer: min(client max, ours)."""
        if self.max_version < MIN_CLIENT_VERSION or self.min_version > SERVER_VERSION:
            raise ProtocolError(
                f"client versions {self.min_version}..{self.max_version} "
                f"do not overlap {MIN_CLIENT_VERSION}..{SERVER_VERSION}"
            )
        return min(self.max_version, SERVER_VERSION)


def parse_hello(payload: bytes) -> Hello:
    """Parse ``v157..176 [+OPTIONS]`` (the part after ``API\\0`` and the length)."""
    try:
        text = payload.decode().rstrip("\0")
    except UnicodeDecodeError as exc:
        raise ProtocolError("client hello is not UTF-8") from exc
    versions, _, options = text.partition(" ")
    if not versions.startswith("v"):
        raise ProtocolError(f"client hello {text!r} does not start with 'v'")
    low, sep, high = versions[1:].partition("..")
    try:
        lo = int(low)
        hi = int(high) if sep else lo
    except ValueError as exc:
        raise ProtocolError(f"client hello {text!r} has no version range") from exc
    return Hello(lo, hi, options)


class FrameReader:
    """Incremental decoder: feed bytes, get complete messages as field lists.

    The first frame of a connection is preceded by ``API\\0``; ``expect_hello``
    makes the reader strip it and return the raw hello payload once.
    """

    def __init__(self, expect_hello: bool = True) -> None:
        self._buffer = bytearray()
        self._expect_hello = expect_hello
        self.hello: Hello | None = None

    def feed(self, data: bytes) -> list[list[str]]:
        self._buffer.extend(data)
        messages: list[list[str]] = []
        while True:
            if self._expect_hello:
                if len(self._buffer) < len(HELLO_PREFIX):
                    return messages
                if bytes(self._buffer[: len(HELLO_PREFIX)]) != HELLO_PREFIX:
                    raise ProtocolError("connection does not start with 'API\\0'")
                payload = self._take_frame(len(HELLO_PREFIX))
                if payload is None:
                    return messages
                self.hello = parse_hello(payload)
                self._expect_hello = False
                continue
            payload = self._take_frame(0)
            if payload is None:
                return messages
            messages.append(split_fields(payload))

    def _take_frame(self, offset: int) -> bytes | None:
        if len(self._buffer) < offset + 4:
            return None
        (size,) = struct.unpack_from(">I", self._buffer, offset)
        if size > MAX_FRAME:
            raise ProtocolError(f"frame of {size} bytes exceeds the {MAX_FRAME} byte limit")
        end = offset + 4 + size
        if len(self._buffer) < end:
            return None
        payload = bytes(self._buffer[offset + 4 : end])
        del self._buffer[:end]
        return payload

    @property
    def pending(self) -> int:
        """Bytes of an incomplete frame still waiting for the rest."""
        return len(self._buffer)


def split_fields(payload: bytes) -> list[str]:
    """Payload to fields; the trailing NUL terminates the last field.

    Bad UTF-8 is replaced rather than raised so the session can answer the one
    bad message with an error and carry on, as TWS does.
    """
    fields = payload.decode(errors="replace").split("\0")
    if fields and fields[-1] == "":
        fields.pop()
    return fields
