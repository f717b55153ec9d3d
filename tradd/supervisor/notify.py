"""systemd's notification protocol (sd_notify) without libsystemd.

Under `Type=notify` systemd waits for READY=1 before it calls the unit started, and with
`WatchdogSec=` it restarts a supervisor that stops sending WATCHDOG=1. The protocol is one
datagram of newline-separated `KEY=value` lines to the AF_UNIX socket named by
$NOTIFY_SOCKET (a path, or an abstract name written with a leading "@"), so a few lines of
socket code replace a C dependency. Outside systemd (no $NOTIFY_SOCKET) every call is a
no-op, so the supervisor calls the notifier unconditionally.

A notification is never worth crashing the supervisor for: send errors are logged (a
warning the first time, then at debug level) and swallowed.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Mapping

import structlog

NOTIFY_SOCKET_ENV = "NOTIFY_SOCKET"
WATCHDOG_USEC_ENV = "WATCHDOG_USEC"
WATCHDOG_PID_ENV = "WATCHDOG_PID"
NOTIFY_ENV_VARS = (NOTIFY_SOCKET_ENV, WATCHDOG_USEC_ENV, WATCHDOG_PID_ENV)
"""What a child process (a worker) must not inherit: the notifications are the main
process's to send (the unit says NotifyAccess=main)."""

log = structlog.get_logger("tradd.supervisor.notify")


def monotonic_usec() -> int:
    """CLOCK_MONOTONIC in microseconds: the clock systemd compares MONOTONIC_USEC with."""
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000


def without_notify_env(environ: Mapping[str, str]) -> dict[str, str]:
    """A copy of `environ` for child processes, without the notification variables."""
    return {k: v for k, v in environ.items() if k not in NOTIFY_ENV_VARS}


def _socket_address(value: str) -> str | None:
    """$NOTIFY_SOCKET as an address for sendto: "@name" is the abstract name "\\0name"."""
    if value.startswith("@"):
        return "\0" + value[1:]
    if value.startswith("/"):
        return value
    return None  # e.g. systemd 254's "vsock:..." addresses: not supported here


def _one_line(text: str) -> str:
    """A STATUS= value: a newline would start a new (bogus) assignment."""
    return " ".join(text.splitlines())


class SystemdNotifier:
    """Sends state changes and watchdog pings to systemd; a no-op outside systemd.

    Built from an environment mapping (pass `os.environ`) so tests can point it at their
    own socket. Keeps one datagram socket open until `close()`; the socket is not
    inherited by child processes (Python's default for new descriptors).
    """

    def __init__(
        self,
        environ: Mapping[str, str],
        *,
        monotonic: Callable[[], int] = monotonic_usec,
    ) -> None:
        self._environ = dict(environ)
        self._monotonic = monotonic
        self._warned = False
        self._sock: socket.socket | None = None
        raw = environ.get(NOTIFY_SOCKET_ENV, "")
        self._address = _socket_address(raw) if raw else None
        if raw and self._address is None:
            log.warning("notify_socket_unsupported", notify_socket=raw)
        if self._address is not None:
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)

    @property
    def enabled(self) -> bool:
        """True when running under systemd with a usable $NOTIFY_SOCKET."""
        return self._sock is not None

    def ready(self, status: str = "") -> None:
        """Start-up is complete: systemd marks the unit active (and `systemctl start`
        returns)."""
        self._send("READY=1", *self._status_line(status))

    def reloading(self) -> None:
        """A reload (SIGHUP) begins; `ready()` ends it. systemd >= 253 needs the timestamp
        to match the reload to the request; older versions ignore it."""
        self._send("RELOADING=1", f"MONOTONIC_USEC={self._monotonic()}")

    def stopping(self, status: str = "") -> None:
        """Shutdown has begun (so systemd does not mistake it for a hang)."""
        self._send("STOPPING=1", *self._status_line(status))

    def watchdog(self) -> None:
        """Keep-alive ping; must come at least every `watchdog_interval()` seconds."""
        self._send("WATCHDOG=1")

    def status(self, text: str) -> None:
        """Free-form status line shown by `systemctl status tradd` ("" clears it)."""
        self._send(f"STATUS={_one_line(text)}")

    def mainpid(self, pid: int) -> None:
        """Tell systemd which process is the main one (when not the one it started)."""
        self._send(f"MAINPID={pid}")

    def extend_timeout(self, seconds: float) -> None:
        """Ask for `seconds` more before the start/stop timeout fires (a slow shutdown
        that is still making progress)."""
        self._send(f"EXTEND_TIMEOUT_USEC={int(seconds * 1_000_000)}")

    def watchdog_interval(self) -> float | None:
        """Seconds between watchdog pings (half of WatchdogSec=), or None when systemd
        expects none: no watchdog configured, or it is meant for another process."""
        if not self.enabled:
            return None
        try:
            usec = int(self._environ.get(WATCHDOG_USEC_ENV, ""))
        except ValueError:
            return None
        if usec <= 0:
            return None
        owner = self._environ.get(WATCHDOG_PID_ENV)
        if owner and owner.strip() != str(os.getpid()):
            return None
        return usec / 2 / 1_000_000

    def close(self) -> None:
        """Close the socket; later calls are no-ops."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def __enter__(self) -> SystemdNotifier:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @staticmethod
    def _status_line(text: str) -> tuple[str, ...]:
        return (f"STATUS={_one_line(text)}",) if text else ()

    def _send(self, *lines: str) -> None:
        if self._sock is None or self._address is None or not lines:
            return
        payload = "\n".join(lines).encode()
        try:
            self._sock.sendto(payload, self._address)
        except OSError as exc:
            # systemd gone or socket buffer full: the next notification may get through.
            event = "notify_failed"
            if self._warned:
                log.debug(event, error=str(exc))
            else:
                log.warning(event, error=str(exc), notify_socket=self._environ[NOTIFY_SOCKET_ENV])
                self._warned = True
