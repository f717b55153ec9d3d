"""Shared fixtures of the run-store tests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from tradd.persistence.db import open_database
from tradd.research.runs.store import RunStore


@pytest.fixture
def store(database_url: str) -> Iterator[RunStore]:
    """The run store over the test's database, as the CLI under test sees it (wall clock)."""
    engine, sessions = open_database(database_url)
    try:
        yield RunStore(sessions, lambda: datetime.now(UTC))
    finally:
        engine.dispose()
