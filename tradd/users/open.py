"""The user store of a configuration: the daemon's database, migrated on open."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from tradd.config.settings import Settings
from tradd.persistence.db import open_database
from tradd.users.store import UserStore


def utc_now() -> datetime:
    return datetime.now(UTC)


@contextmanager
def open_user_store(settings: Settings) -> Iterator[UserStore]:
    engine, sessions = open_database(settings.database_url())
    try:
        yield UserStore(sessions, utc_now)
    finally:
        engine.dispose()
