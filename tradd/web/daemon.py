"""The daemon as the console sees it: requests over its control socket, nothing else.

The console never holds a connection: each request is one short call, so a daemon
restarting under it is just "not running" for a moment, answered with a 503 that says
nothing was sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tradd.control.client import Unreachable, call
from tradd.research.scan.execute import DaemonUnreachable

NOT_RUNNING = "daemon not running: nothing sent"


class DaemonDown(Exception):
    """No daemon answered: nothing was sent (the API answers 503)."""


@dataclass(frozen=True)
class DaemonLink:
    socket: Path
    timeout: float = 10.0

    def request(self, cmd: str, args: dict[str, Any] | None = None,
                timeout: float | None = None) -> dict[str, Any]:  # fmt: skip
        """The daemon's reply (`ok`, `result` or `error`); DaemonDown if none came."""
        try:
            return call(self.socket, cmd, args or {}, timeout or self.timeout)
        except Unreachable as exc:
            raise DaemonDown(f"{NOT_RUNNING} ({exc})") from exc

    def scan_call(self, cmd: str, args: dict[str, Any], timeout: float) -> dict[str, Any]:
        """The `DaemonCall` of `tradd.research.scan.execute` (same rules as the CLI)."""
        try:
            return call(self.socket, cmd, args, timeout)
        except Unreachable as exc:
            raise DaemonUnreachable(str(exc)) from exc
