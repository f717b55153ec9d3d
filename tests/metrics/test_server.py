"""The /metrics server's lifecycle: a taken port is one clear error (exit 1), an address
that cannot be bound a configuration error; stop is final."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
from prometheus_client import CollectorRegistry

from tradd.config.daemon import MetricsSettings
from tradd.errors import EXIT_FAILURE, ConfigError, TraddError
from tradd.metrics.server import MetricsServer


def test_a_taken_port_is_an_error_naming_it_exit_1() -> None:
    first = MetricsServer(MetricsSettings(host="127.0.0.1", port=0), CollectorRegistry())
    first.start()
    try:
        second = MetricsServer(MetricsSettings(host="127.0.0.1", port=first.port),
                               CollectorRegistry())  # fmt: skip
        with pytest.raises(TraddError) as caught:
            second.start()
        message = str(caught.value)
        assert "metrics.port" in message and f"127.0.0.1:{first.port}" in message
        assert "in use" in message.lower()
        # Not a configuration error: the holder may go away, so systemd restarts tradd.
        assert caught.value.exit_code == EXIT_FAILURE
        second.stop()  # never started: nothing to do
    finally:
        first.stop()


def test_an_unknown_host_is_a_config_error() -> None:
    server = MetricsServer(MetricsSettings(host="no-such-host.invalid", port=0),
                           CollectorRegistry())  # fmt: skip
    with pytest.raises(ConfigError, match="metrics.host"):
        server.start()


def test_stop_closes_the_socket_and_is_idempotent() -> None:
    server = MetricsServer(MetricsSettings(host="127.0.0.1", port=0), CollectorRegistry())
    server.start()
    url = server.url
    with urllib.request.urlopen(url, timeout=10) as reply:
        assert reply.status == 200
    server.stop()
    server.stop()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url, timeout=10)
