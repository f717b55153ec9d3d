"""Assemble the daemon: supervisor, control server, metrics endpoint; run it to the end."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import structlog

from tradd.config.settings import Settings
from tradd.control.peers import PeerPolicy
from tradd.control.server import ControlServer
from tradd.errors import EXIT_OK
from tradd.supervisor.daemon import Supervisor, SupervisorOptions

log = structlog.get_logger("tradd.supervisor")


class Daemon:
    """The supervisor plus the servers that expose it; `serve()` runs until stopped."""

    def __init__(
        self, settings: Settings, config_path: Path, options: SupervisorOptions | None = None
    ) -> None:
        self.supervisor = Supervisor(settings, config_path, options)
        options = self.supervisor.options
        self.socket_path = settings.control.socket_path(settings.state_dir, options.environ)
        self.control = ControlServer(
            self.supervisor,
            self.socket_path,
            PeerPolicy.from_settings(settings.control),
            settings.control.max_request,
            max_connections=settings.control.max_connections,
            idle_timeout=settings.control.idle_timeout,
        )
        self.metrics: Any = None
        if options.metrics and settings.metrics.enabled:
            from tradd.metrics.collector import SupervisorMetrics
            from tradd.metrics.server import MetricsServer

            collector = SupervisorMetrics(lambda: self.supervisor.views)
            self.metrics = MetricsServer(settings.metrics, collector.registry)
        self.started = asyncio.Event()

    async def serve(self) -> int:
        await self.control.start()
        try:
            if self.metrics is not None:
                self.metrics.start()
                self.supervisor.metrics_url = self.metrics.url
                log.info("metrics endpoint", url=self.metrics.url)
            return await self.supervisor.run(on_started=self._on_started)
        finally:
            await self.control.stop()
            if self.metrics is not None:
                self.metrics.stop()

    async def _on_started(self, _supervisor: Supervisor) -> None:
        self.started.set()


def run_daemon(
    settings: Settings, config_path: Path, options: SupervisorOptions | None = None
) -> int:
    """Blocking entry of `tradd run` (after logging and any daemonizing are set up)."""
    log.info("tradd run", pid=os.getpid())
    code = asyncio.run(Daemon(settings, config_path, options).serve())
    return code if code is not None else EXIT_OK
