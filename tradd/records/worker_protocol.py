"""The worker command protocol: what the supervisor (and tools) say to a worker's socket.

JSON lines, one request and one reply per line:

    {"cmd": "flatten", "requested_by": "ops"}            (the arguments beside "cmd")
    {"ok": true, "result": {...}}
    {"ok": false, "error": {"code": "conflict", "message": "..."}}

`WorkerCommand` names every command and `WorkerErrorCode` every code a worker answers with
(docs/worker.md documents both). Both ends build and read these records, never loose dicts,
so a code the worker invents and the supervisor does not know fails here, not in a
`startswith` somewhere. The wire format is the one the worker spoke before these types.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from tradd.records.entry import EntryArgs

MAX_REQUEST = 64 * 1024
"""Longest request line a worker reads (bytes)."""


class WorkerCommand(StrEnum):
    STATUS = "status"
    HEARTBEAT = "heartbeat"
    """The supervisor's: answered from the last published snapshot (tradd.worker.pulse)."""
    FLATTEN = "flatten"
    PAUSE = "pause"
    RESUME = "resume"
    STOP = "stop"
    EVENTS = "events"
    PING = "ping"
    ENTER = "enter"


class WorkerErrorCode(StrEnum):
    """Every code a worker's error reply carries; each is also a control protocol code
    (tradd.control.protocol.ErrorCode): the daemon passes a worker's refusal on as is."""

    TOO_LARGE = "too_large"
    """The request line is over MAX_REQUEST bytes."""
    BAD_JSON = "bad_json"
    BAD_REQUEST = "bad_request"
    """The line is JSON but not an object."""
    UNKNOWN_COMMAND = "unknown_command"
    BAD_ARGUMENT = "bad_argument"
    """An argument is wrong (an `enter`'s symbol, side, amount, ...): nothing was done."""
    CONFLICT = "conflict"
    """Refused by the worker's state: a flatten already running, pause while halted, a
    client_ref already used for another entry or before a restart."""
    UNAVAILABLE = "unavailable"
    """Not possible now: not connected or reconciled, no price, the ledger unreachable."""
    BUSY = "busy"
    """Every connection of the socket is being answered (tradd.worker.listener)."""
    TIMEOUT = "timeout"
    """The worker's main loop did not answer in time."""
    INTERNAL = "internal"
    """An unexpected error while carrying the command out (its message says whether an
    entry may have been placed)."""


@dataclass(frozen=True)
class WorkerError:
    """Why a worker refused a command: a code to act on, a message for people."""

    code: WorkerErrorCode
    message: str


@dataclass(frozen=True)
class WorkerRequest:
    """One command and its arguments (on the wire: the keys beside "cmd")."""

    command: WorkerCommand
    args: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        object.__setattr__(self, "args", MappingProxyType(dict(self.args)))

    @classmethod
    def flatten(cls, requested_by: str) -> WorkerRequest:
        return cls(WorkerCommand.FLATTEN, {"requested_by": requested_by})

    @classmethod
    def events(cls, since: int, wait: float) -> WorkerRequest:
        """Events after sequence number `since`, waiting up to `wait` s for one (long poll)."""
        return cls(WorkerCommand.EVENTS, {"since": since, "wait": wait})

    @classmethod
    def enter(cls, entry: EntryArgs) -> WorkerRequest:
        return cls(WorkerCommand.ENTER, entry.as_args())

    def line(self) -> bytes:
        return json.dumps({"cmd": str(self.command), **self.args}).encode() + b"\n"


@dataclass(frozen=True)
class WorkerReply:
    """A command's `result`, or the `error` that is the reply instead."""

    result: Any = None
    error: WorkerError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @classmethod
    def refused(cls, code: WorkerErrorCode, message: str) -> WorkerReply:
        return cls(error=WorkerError(code, message))

    def line(self) -> bytes:
        if self.error is None:
            reply: dict[str, Any] = {"ok": True, "result": self.result}
        else:
            error = {"code": str(self.error.code), "message": self.error.message}
            reply = {"ok": False, "error": error}
        return json.dumps(reply, default=str).encode() + b"\n"


def parse_request(line: bytes) -> WorkerRequest | WorkerError:
    """One request line as a WorkerRequest, or the error that answers it."""
    if len(line) > MAX_REQUEST:
        return WorkerError(WorkerErrorCode.TOO_LARGE, f"request over {MAX_REQUEST} bytes")
    try:
        request = json.loads(line)
    except (ValueError, UnicodeDecodeError) as exc:
        return WorkerError(WorkerErrorCode.BAD_JSON, f"not JSON: {exc}")
    except RecursionError:
        return WorkerError(WorkerErrorCode.BAD_JSON, "not JSON: nested too deeply")
    if not isinstance(request, dict):
        return WorkerError(WorkerErrorCode.BAD_REQUEST, "a request is a JSON object")
    name = request.get("cmd")
    if not isinstance(name, str) or name not in WorkerCommand.__members__.values():
        known = ", ".join(sorted(WorkerCommand))
        return WorkerError(WorkerErrorCode.UNKNOWN_COMMAND, f"cmd {name!r}: one of {known}")
    args = {k: v for k, v in request.items() if k != "cmd"}
    return WorkerRequest(WorkerCommand(name), args)


def parse_reply(line: bytes) -> WorkerReply:
    """One reply line; ValueError when it is not one (not JSON, not an object, an error
    without a known code): the worker did not speak this protocol."""
    reply = json.loads(line)
    if not isinstance(reply, dict):
        raise ValueError("reply is not a JSON object")
    if reply.get("ok"):
        return WorkerReply(result=reply.get("result"))
    error = reply.get("error")
    if not isinstance(error, dict):
        raise ValueError(f"error reply without an error object: {error!r}")
    code = error.get("code")
    if not isinstance(code, str) or code not in WorkerErrorCode.__members__.values():
        raise ValueError(f"error code {code!r} is not one of {', '.join(WorkerErrorCode)}")
    return WorkerReply.refused(WorkerErrorCode(code), str(error.get("message", "")))
