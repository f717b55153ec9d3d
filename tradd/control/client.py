"""tradctl's side of the control socket: find it, send one request, read one reply.

Standard library only, so `tradctl` starts in tens of milliseconds.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tradd.control.protocol import encode_request

SYSTEMD_SOCKET = Path("/run/tradd/control.sock")
DEFAULT_CONFIGS = (Path("etc/tradd.toml"), Path("/etc/tradd/tradd.toml"))


class Unreachable(Exception):
    """No daemon answered on the socket (not running, wrong path, timed out)."""


class NoAnswer(Unreachable):
    """The request may have reached the daemon, but no answer came (timed out, or the
    connection closed first): unlike a refused connection, it may have acted."""


def find_socket(explicit: Path | None, config: Path | None, environ: Mapping[str, str]) -> Path:
    """--socket, else $TRADD_CONTROL__SOCKET, else the config's [control].socket, else the
    systemd default if it exists, else <state_dir>/run/control.sock."""
    if explicit is not None:
        return explicit
    if environ.get("TRADD_CONTROL__SOCKET"):
        return Path(environ["TRADD_CONTROL__SOCKET"])
    document = _read_config(config, environ)
    control = document.get("control", {})
    if isinstance(control, dict) and control.get("socket"):
        return Path(str(control["socket"]))
    if _exists(SYSTEMD_SOCKET):
        return SYSTEMD_SOCKET
    state_dir = environ.get("TRADD_STATE_DIR") or str(document.get("state_dir", "state"))
    return Path(state_dir) / "run" / "control.sock"


def _read_config(config: Path | None, environ: Mapping[str, str]) -> dict[str, Any]:
    path = config or (Path(environ["TRADD_CONFIG"]) if environ.get("TRADD_CONFIG") else None)
    path = path or next((p for p in DEFAULT_CONFIGS if p.is_file()), None)
    if path is None:
        return {}
    import tomllib  # only when the socket is not given

    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (OSError, ValueError) as exc:  # TOMLDecodeError is a ValueError
        raise ValueError(f"{path}: {exc}") from None


def call(path: Path, cmd: str, args: dict[str, Any] | None, timeout: float) -> dict[str, Any]:
    """The decoded reply to one request; Unreachable if nobody answers in time."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            _connect(sock, path, time.monotonic() + timeout)
            sock.sendall(encode_request(cmd, args))
            data = _read_line(sock)
    except FileNotFoundError:
        raise Unreachable(f"no control socket at {path}: is tradd running?") from None
    except ConnectionRefusedError:
        raise Unreachable(f"nothing listens on {path}: is tradd running?") from None
    except TimeoutError:
        raise NoAnswer(f"no answer from {path} within {timeout:g}s") from None
    except OSError as exc:
        raise Unreachable(f"{path}: {exc}") from None
    if not data:
        raise NoAnswer(f"{path}: the daemon closed the connection without answering")
    try:
        reply = json.loads(data)
    except ValueError:
        raise Unreachable(f"{path}: an answer that is not JSON: {data[:80]!r}") from None
    if not isinstance(reply, dict):
        raise Unreachable(f"{path}: an answer that is not a reply object")
    return reply


def _read_line(sock: socket.socket) -> bytes:
    chunks: list[bytes] = []
    while True:
        chunk = sock.recv(1 << 16)
        if not chunk:
            break
        chunks.append(chunk)
        if chunk.endswith(b"\n"):
            break
    return b"".join(chunks)


def environment() -> dict[str, str]:
    return dict(os.environ)


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:  # e.g. /run/tradd is not ours to look into
        return False


CONNECT_RETRY_S = 0.01


def _connect(sock: socket.socket, path: Path, deadline: float) -> None:
    """Connect, waiting while the daemon's accept queue is full.

    A Unix socket whose backlog is full refuses at once with EAGAIN (TCP would wait), as
    during a burst of connections; that is a busy daemon, not an absent one."""
    while True:
        try:
            sock.connect(str(path))
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise TimeoutError from None
            time.sleep(CONNECT_RETRY_S)
