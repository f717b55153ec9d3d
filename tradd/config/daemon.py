"""Settings of the daemon itself: the supervisor, its control socket and its metrics."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pydantic import Field

from tradd.config.base import Section

RUNTIME_DIRECTORY_ENV = "RUNTIME_DIRECTORY"
"""systemd's RuntimeDirectory= (e.g. /run/tradd): the control socket goes there."""


class SupervisorSettings(Section):
    heartbeat_interval: float = Field(1.0, gt=0)
    """Seconds between the supervisor's status requests to each worker (the heartbeat)."""
    heartbeat_timeout: float = Field(60.0, gt=0)
    """A running worker that has not answered for this long is hung: killed, restarted.
    Must exceed broker.request_timeout: a worker waiting on a slow IB request (history
    during warm-up, reconciliation) is not answering, and is not hung."""
    start_timeout: float = Field(120.0, gt=0)
    """A new worker must answer its first status request within this (connect, warm-up)."""
    stop_timeout: float = Field(45.0, gt=0)
    """SIGTERM, then SIGKILL after this long (the worker cancels its orders meanwhile)."""
    backoff_initial: float = Field(1.0, gt=0)
    """First restart delay after a crash; doubled on each crash in a row."""
    backoff_max: float = Field(60.0, gt=0)
    crash_limit: int = Field(5, ge=1)
    """This many crashes within `crash_window` seconds: FATAL (no more restarts)."""
    crash_window: float = Field(300.0, gt=0)
    stable_after: float = Field(60.0, gt=0)
    """A worker running this long without a crash starts again from the first backoff."""
    flatten_ack_timeout: float = Field(3.0, gt=0)
    """A worker that does not answer a ping this fast is flattened by the supervisor."""
    flatten_timeout: float = Field(60.0, gt=0)
    """How long a flatten (worker or emergency) may take before it reports failure."""
    emergency_client_id: int = Field(0, ge=0)
    """IB clientId of the supervisor's own connection for the account sweep of
    `flatten --all` (0, or the gateway's Master API client ID, sees every order)."""
    pidfile: Path | None = None
    """Default PID file of `tradd run --daemon` (default: <state_dir>/tradd.pid)."""


class ControlSettings(Section):
    socket: Path | None = None
    """The control socket (default: $RUNTIME_DIRECTORY/control.sock under systemd, else
    <state_dir>/run/control.sock)."""
    allowed_uids: tuple[int, ...] = ()
    """Besides root and the daemon's own user, these uids may connect."""
    allowed_groups: tuple[str, ...] = ()
    """Members of these groups (names or numeric gids) may connect too."""
    max_request: int = Field(64 * 1024, ge=256)
    """Bytes per request line; a longer line gets a `too_large` error."""
    max_connections: int = Field(64, ge=1)
    """Connections open at once. One more sheds the connection idle longest; a few more
    reserved slots answer only status, health and flatten when every one is busy."""
    idle_timeout: float = Field(60.0, gt=0)
    """Seconds a connection may wait without sending a request before it is closed."""

    def socket_path(self, state_dir: Path, environ: Mapping[str, str]) -> Path:
        if self.socket is not None:
            return self.socket
        runtime = environ.get(RUNTIME_DIRECTORY_ENV)
        if runtime:
            return Path(runtime.split(":")[0]) / "control.sock"
        return state_dir / "run" / "control.sock"


class MetricsSettings(Section):
    enabled: bool = True
    host: str = "127.0.0.1"
    """Bind address of /metrics (loopback by default: put Prometheus on the same host or
    behind a proxy)."""
    port: int = Field(9464, ge=0, le=65535)
    """0: any free port (tests)."""
