"""The admin channel: JSON lines on a Unix socket (mode 0600) beside a running simulator.

``tradd simgw fault|status|advance`` talk to it; every request gets
``{"ok": true, "result": ...}`` or ``{"ok": false, "error": "..."}``, and a bad
request never disturbs the simulator.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from tradd.errors import TemporaryError, UsageError

if TYPE_CHECKING:
    from tradd.simgw.gateway import SimGateway

log = structlog.get_logger("tradd.simgw.admin")
MAX_LINE = 64 * 1024
MAX_ADVANCE = 7 * 86_400.0


def default_admin_socket(port: int) -> Path:
    base = os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()
    return Path(base) / f"tradd-simgw-{os.getuid()}-{port}.sock"


class AdminServer:
    def __init__(self, gateway: SimGateway, path: Path) -> None:
        self.gateway = gateway
        self.path = path
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        old = os.umask(0o177)
        try:
            self._server = await asyncio.start_unix_server(
                self._client, path=str(self.path), limit=MAX_LINE
            )
        finally:
            os.umask(old)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                reply = await self.handle_line(line)
                writer.write(json.dumps(reply).encode() + b"\n")
                await writer.drain()
        except (ValueError, ConnectionError) as exc:  # over-long line or peer gone
            log.warning("simgw.admin_client_error", error=str(exc))
        finally:
            writer.close()

    async def handle_line(self, line: bytes) -> dict[str, Any]:
        try:
            request = json.loads(line)
            if not isinstance(request, dict):
                raise TypeError("request must be a JSON object")
            result = await self.execute(request)
        except (ValueError, TypeError, KeyError) as exc:
            return {"ok": False, "error": str(exc)}
        return {"ok": True, "result": result}

    async def execute(self, request: dict[str, Any]) -> Any:
        op = request.get("op")
        gw = self.gateway
        if op == "status":
            return gw.status()
        if op == "advance":
            seconds = float(request["seconds"])
            if not 0 <= seconds <= MAX_ADVANCE:  # also false for NaN
                raise ValueError(f"advance: seconds must be 0..{MAX_ADVANCE:g}, got {seconds}")
            return {"buckets": gw.advance(seconds), **gw.status()}
        if op == "fault":
            return await apply_fault(gw, str(request.get("name")), request.get("args") or {})
        raise ValueError(f"unknown op {op!r}; use status, advance or fault")


async def apply_fault(gw: SimGateway, name: str, args: dict[str, Any]) -> Any:
    """Run one catalogue fault by name (shared by the admin channel and the CLI)."""
    f = gw.faults
    simple: dict[str, Callable[[], Any]] = {
        "stall": f.stall, "unstall": f.unstall, "lost": f.connectivity_lost,
        "withhold": f.withhold_fills, "release": f.release_fills,
    }  # fmt: skip
    if name in simple:
        return simple[name]()
    if name == "drop":
        return {"dropped": f.drop(reset=bool(args.get("reset")))}
    if name == "refuse":
        seconds = args.get("seconds")
        return {"dropped": await f.refuse(None if seconds is None else float(seconds))}
    if name == "accept":
        return await f.accept()
    if name == "restored":
        return {"released": f.connectivity_restored(data_lost=bool(args.get("data_lost")))}
    numbered: dict[str, Callable[[int], Any]] = {
        "farm": f.farm_notice, "reject": f.reject_next, "pacing": f.pacing_violations,
        "partial": f.partial_fills, "duplicate": f.duplicate_exec_details, "ignore": f.ignore,
        "heed": f.heed, "slip": f.slip,
    }  # fmt: skip
    if name in numbered:
        if "value" not in args:
            raise ValueError(f"fault {name!r} needs a number")
        return numbered[name](int(args["value"]))
    raise ValueError(f"unknown fault {name!r}")


def admin_request(path: Path, request: dict[str, Any], timeout: float = 10.0) -> Any:
    """Send one request to a running simulator; raises if it is not there or refuses."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(str(path))
        except OSError as exc:
            raise TemporaryError(
                f"no simulator admin socket at {path} ({exc.strerror}); is `tradd simgw` running "
                "on that port?"
            ) from exc
        sock.sendall(json.dumps(request).encode() + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    reply = json.loads(data or b"{}")
    if not reply.get("ok"):
        raise UsageError(f"simulator refused: {reply.get('error', 'no reply')}")
    return reply.get("result")
