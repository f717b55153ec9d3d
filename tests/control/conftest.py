"""tradctl runs against a real daemon: reuse the supervisor's fixtures."""

from tests.supervisor.conftest import sqlite_url, start_daemon  # noqa: F401  (fixtures)
