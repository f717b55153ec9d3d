"""Short transactions for the ledger, the same way every time.

Every ledger call is one transaction of its own. Writes take SQLite's write lock up
front (`BEGIN IMMEDIATE`): a deferred transaction that reads and then writes fails at
once with "database is locked" when another process committed in between, while an
immediate one waits (up to the busy timeout) and then sees the latest data. Errors that
mean "the database is unreachable or busy right now" become TemporaryError, so the
worker can retry or degrade instead of crashing on a driver exception.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import islice
from typing import Any, TypeVar

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session, sessionmaker

from tradd.errors import TemporaryError
from tradd.persistence.db import SQLITE_BEGIN

CHUNK = 500
"""Bound parameters per IN (...) list: well under SQLite's limit on old builds (999)."""

T = TypeVar("T")
Upsert = sqlite.Insert | postgresql.Insert


@contextmanager
def write_transaction(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A session in a transaction holding the write lock; commits on success."""
    with _unavailable_is_temporary(), sessions() as session, session.begin():
        session.connection(execution_options={SQLITE_BEGIN: "IMMEDIATE"})
        yield session


@contextmanager
def read_transaction(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A session in a read transaction (one consistent snapshot)."""
    with _unavailable_is_temporary(), sessions() as session, session.begin():
        yield session


@contextmanager
def snapshot_transaction(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A read transaction whose every statement sees the same committed state, even with
    other processes writing meanwhile. SQLite in WAL mode does that for any transaction
    (its snapshot starts at the first read); PostgreSQL's default (READ COMMITTED) gives
    each statement a snapshot of its own, so there it runs REPEATABLE READ."""
    with read_transaction(sessions) as session:
        if dialect_name(session) == "postgresql":
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        yield session


@contextmanager
def _unavailable_is_temporary() -> Iterator[None]:
    try:
        yield
    except (OperationalError, InterfaceError) as exc:
        raise TemporaryError(f"database unavailable: {_first_line(exc.orig)}") from exc
    except PoolTimeoutError as exc:
        raise TemporaryError(f"database unavailable: {_first_line(exc)}") from exc


def _first_line(error: BaseException | None) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


def dialect_name(session: Session) -> str:
    return session.get_bind().dialect.name


def dialect_insert(session: Session, entity: Any) -> Upsert:
    """An INSERT that supports ON CONFLICT for the session's backend."""
    if dialect_name(session) == "postgresql":
        return postgresql.insert(entity)
    return sqlite.insert(entity)


def chunked(items: Iterable[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    """Consecutive lists of at most `size` items."""
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk
