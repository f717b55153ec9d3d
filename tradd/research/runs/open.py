"""The run store of a configuration: the daemon's database, migrated on open, and the
lease interval of `[runs]`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from tradd.config.settings import Settings
from tradd.persistence.db import open_database
from tradd.research.runs.store import RunStore


def utc_now() -> datetime:
    return datetime.now(UTC)


@contextmanager
def open_run_store(settings: Settings) -> Iterator[RunStore]:
    engine, sessions = open_database(settings.database_url())
    try:
        yield RunStore(sessions, utc_now, settings.runs.lease_interval)
    finally:
        engine.dispose()
