"""Supervisor fixtures: `tradd run` as a real process against the simulator
(tests.fixtures.daemon: `start_daemon`, `sqlite_url`, `daemon_document`)."""

from __future__ import annotations

from tests.fixtures.daemon import (  # noqa: F401  (re-exported for the tests here)
    Daemon,
    daemon_document,
    write_document,
)
from tests.metrics.conftest import promtool  # noqa: F401  (a fixture)
from tests.worker.conftest import ledger_for  # noqa: F401  (a fixture)
