"""Persistence test helpers: a controllable clock, a ledger on each backend, a SQL log."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from tests.fixtures.database import OpenedDatabase
from tradd.persistence.ledger import Ledger

T0 = datetime(2024, 3, 8, 14, 30, tzinfo=UTC)

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
"""For tests of validation that happens before any SQL: the backend cannot matter."""


class FakeClock:
    """Returns `now`, which moves only when the test says so."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def ledger(sessions: sessionmaker[Session], clock: FakeClock) -> Ledger:
    return Ledger(sessions, strategy="sma_goog", clock=clock)


class SqlLog:
    """The SQL statements an engine executed while the log was attached."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, *args: Any) -> None:
        self.statements.append(args[2])

    def clear(self) -> None:
        self.statements.clear()


@pytest.fixture
def sql_log(database: OpenedDatabase) -> Iterator[SqlLog]:
    log = SqlLog()
    event.listen(database.engine, "before_cursor_execute", log)
    yield log
    event.remove(database.engine, "before_cursor_execute", log)
