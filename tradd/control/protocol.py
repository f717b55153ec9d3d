"""The control protocol: versioned JSON lines over a Unix socket.

Request:  {"v": 1, "cmd": "status", "args": {...}}          (one line, at most max_request)
Reply:    {"v": 1, "ok": true, "result": {...}}
          {"v": 1, "ok": false, "error": {"code": "...", "message": "..."}}

Every request gets exactly one reply; a bad one gets an error and the connection stays
usable (except after an oversized line, whose remainder is discarded first). This module
has no dependencies beyond the standard library: `tradctl` imports it.
"""

from __future__ import annotations

import json
import math
from enum import StrEnum
from typing import Any

VERSION = 1


class ErrorCode(StrEnum):
    """Error codes of the protocol (documented in docs/control.md, stable across versions).
    An enum costs tradctl nothing measurable: `enum` is loaded already (by `re`), and
    defining this class takes ~0.3 ms."""

    BAD_JSON = "bad_json"
    BAD_REQUEST = "bad_request"
    UNSUPPORTED_VERSION = "unsupported_version"
    UNKNOWN_COMMAND = "unknown_command"
    BAD_ARGUMENT = "bad_argument"
    TOO_LARGE = "too_large"
    UNKNOWN_STRATEGY = "unknown_strategy"
    CONFLICT = "conflict"
    BUSY = "busy"
    UNAVAILABLE = "unavailable"
    CONFIG_INVALID = "config_invalid"
    FORBIDDEN = "forbidden"
    TIMEOUT = "timeout"
    INTERNAL = "internal"


class ProtocolError(Exception):
    def __init__(self, code: ErrorCode, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.code, self.details = code, details


class Request:
    """One parsed request (a plain class: dataclasses would cost tradctl ~10 ms)."""

    __slots__ = ("args", "cmd")

    def __init__(self, cmd: str, args: dict[str, Any]) -> None:
        self.cmd, self.args = cmd, args


def parse_request(line: bytes) -> Request:
    """One request line to a Request; ProtocolError names what is wrong."""
    try:
        data = json.loads(line)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError(ErrorCode.BAD_JSON, f"not JSON: {exc}") from None
    except RecursionError:
        raise ProtocolError(ErrorCode.BAD_JSON, "not JSON: nested too deeply") from None
    if not isinstance(data, dict):
        raise ProtocolError(ErrorCode.BAD_REQUEST, "a request is a JSON object")
    version = data.get("v", VERSION)
    if version != VERSION or isinstance(version, bool):
        raise ProtocolError(
            ErrorCode.UNSUPPORTED_VERSION, f"v {version!r}: this daemon speaks version {VERSION}"
        )
    cmd, args = data.get("cmd"), data.get("args", {})
    if not isinstance(cmd, str) or not cmd:
        raise ProtocolError(ErrorCode.BAD_REQUEST, f"cmd must be a non-empty string, got {cmd!r}")
    if not isinstance(args, dict):
        raise ProtocolError(ErrorCode.BAD_REQUEST, f"args must be an object, got {args!r}")
    unknown = sorted(set(data) - {"v", "cmd", "args"})
    if unknown:
        raise ProtocolError(ErrorCode.BAD_REQUEST, f"unknown keys {unknown}: use v, cmd, args")
    return Request(cmd, args)


def ok_reply(result: Any) -> bytes:
    return _line({"v": VERSION, "ok": True, "result": result})


def error_reply(code: ErrorCode, message: str, details: Any = None) -> bytes:
    error: dict[str, Any] = {"code": str(code), "message": message}
    if details is not None:
        error["details"] = details
    return _line({"v": VERSION, "ok": False, "error": error})


def encode_request(cmd: str, args: dict[str, Any] | None = None) -> bytes:
    return _line({"v": VERSION, "cmd": cmd, "args": args or {}})


def _line(obj: dict[str, Any]) -> bytes:
    try:
        text = json.dumps(obj, default=str, allow_nan=False)
    except ValueError:  # NaN/inf are not JSON: they become null
        text = json.dumps(_finite(obj), default=str, allow_nan=False)
    return text.encode() + b"\n"


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value
