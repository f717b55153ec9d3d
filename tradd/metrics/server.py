"""The HTTP endpoint Prometheus scrapes: /metrics over the supervisor's registry.

prometheus_client's WSGI server on a daemon thread: a scrape runs the collector on that
thread and only reads the supervisor's views, so a slow scraper never delays the
supervisor. A port already taken (another daemon, or a second tradd) is reported in one
line naming the setting, exit 1: the holder may go away, so systemd retries. An address
that cannot be bound at all is a configuration error (78).
"""

from __future__ import annotations

import errno
import threading
from wsgiref.simple_server import WSGIServer

import structlog
from prometheus_client import CollectorRegistry, start_http_server

from tradd.config.daemon import MetricsSettings
from tradd.errors import ConfigError, TraddError

log = structlog.get_logger("tradd.metrics")
JOIN_TIMEOUT = 5.0


class MetricsServer:
    def __init__(self, settings: MetricsSettings, registry: CollectorRegistry) -> None:
        self._settings, self._registry = settings, registry
        self._server: WSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._port = settings.port

    def start(self) -> None:
        """Bind `metrics.host:metrics.port` and serve; ConfigError when it cannot bind."""
        if self._server is not None:
            return
        host, port = self._settings.host, self._settings.port
        try:
            server, thread = start_http_server(port, host, registry=self._registry)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:  # another process has it: it may go away
                raise TraddError(
                    f"metrics port {host}:{port} is in use (metrics.port): another tradd "
                    "running, or another exporter?"
                ) from None
            raise ConfigError(
                f"metrics.host/metrics.port: cannot listen on {host}:{port}: {exc}"
            ) from None
        self._server, self._thread = server, thread
        self._port = server.server_port
        log.info("metrics served", url=self.url)

    def stop(self) -> None:
        """Stop serving and close the socket; calling it again does nothing."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(JOIN_TIMEOUT)

    @property
    def port(self) -> int:
        """The bound port (the one chosen when `metrics.port` is 0), once started."""
        return self._port

    @property
    def url(self) -> str:
        host = self._settings.host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}/metrics"
