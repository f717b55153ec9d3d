"""The backtest cache in the project database (table `backtest_cache`).

The cache is an optimisation, never a reason for a scan to fail: every database error
reading or writing it is caught, logged and turned into "not cached" (a lookup finds
nothing, a store stores nothing), and the backtest runs as if there were no cache. So
that a database that is down does not cost a timeout and a log line per backtest, the
first error puts the cache to rest for `REST_S` seconds (injected monotonic clock):
operations in that time are skipped and counted, and the count is logged when the rest
ends. One warning per episode, however many backtests.

Entries unused for `keep_days` (`[runs] cache_days`) are deleted by `expire` (a scan
calls it at its start; the console's housekeeping calls `expire_cache`). Expiry goes by
`last_used_at`, which a hit renews: an entry in use stays, one whose inputs are gone (a
changed file, an upgraded tradd: its key can never be asked for again) goes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import delete, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from tradd.config.settings import Settings
from tradd.errors import TraddError
from tradd.persistence.db import open_database
from tradd.persistence.models_cache import BacktestCacheRow
from tradd.persistence.transactions import (
    chunked,
    dialect_insert,
    read_transaction,
    write_transaction,
)

REST_S = 60.0
"""Seconds the cache is left alone after a database error."""


def log() -> structlog.stdlib.BoundLogger:
    """Asked for at each use (rare: errors and expiry), so that it follows the logging
    configuration of the moment rather than the first one it met."""
    return structlog.get_logger("tradd.research.cache")  # type: ignore[no-any-return]


def utc_now() -> datetime:
    return datetime.now(UTC)


class BacktestCache:
    """Look up, store and expire cached results; `sessions` None: a cache that is off."""

    def __init__(
        self,
        sessions: sessionmaker[Session] | None,
        keep_days: int,
        clock: Callable[[], datetime] = utc_now,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions if keep_days > 0 else None
        self.keep_days = keep_days
        self._clock, self._monotonic = clock, monotonic
        self._rest_until: float | None = None
        self._skipped = 0

    @property
    def enabled(self) -> bool:
        return self._sessions is not None

    def lookup(self, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The stored results of those keys that have one; their `last_used_at` renewed."""
        sessions = self._ready()
        if sessions is None or not keys:
            return {}
        found: dict[str, dict[str, Any]] = {}
        try:
            with read_transaction(sessions) as session:
                for chunk in chunked(dict.fromkeys(keys)):
                    rows = session.execute(
                        select(BacktestCacheRow.key, BacktestCacheRow.result).where(
                            BacktestCacheRow.key.in_(chunk)
                        )
                    )
                    found.update({key: result for key, result in rows if isinstance(result, dict)})
        except (SQLAlchemyError, TraddError) as exc:
            self._failed("lookup", exc)
            return {}
        if found:
            self._touch(sessions, list(found))
        return found

    def store(self, kind: str, results: Mapping[str, Mapping[str, Any]]) -> int:
        """Store results by key (a key already there is left as it is); how many were new."""
        sessions = self._ready()
        if sessions is None or not results:
            return 0
        now = self._clock()
        rows = [{"key": key, "kind": kind, "created_at": now, "last_used_at": now,
                 "result": dict(result)} for key, result in results.items()]  # fmt: skip
        try:
            with write_transaction(sessions) as session:
                new = 0
                for row in rows:  # another scan may have stored the same key meanwhile
                    statement = dialect_insert(session, BacktestCacheRow).values(**row)
                    inserted = statement.on_conflict_do_nothing().returning(BacktestCacheRow.key)
                    new += len(session.execute(inserted).all())
                return new
        except (SQLAlchemyError, TraddError) as exc:
            self._failed("store", exc)
            return 0

    def expire(self) -> int:
        """Delete the entries unused for `keep_days`; how many went."""
        sessions = self._ready()
        if sessions is None:
            return 0
        cutoff = self._clock() - timedelta(days=self.keep_days)
        try:
            with write_transaction(sessions) as session:
                done = session.execute(
                    delete(BacktestCacheRow).where(BacktestCacheRow.last_used_at < cutoff)
                )
                count = int(getattr(done, "rowcount", 0) or 0)
        except (SQLAlchemyError, TraddError) as exc:
            self._failed("expire", exc)
            return 0
        if count:
            log().info("backtest cache entries expired", count=count, keep_days=self.keep_days)
        return count

    def _touch(self, sessions: sessionmaker[Session], keys: list[str]) -> None:
        try:
            with write_transaction(sessions) as session:
                for chunk in chunked(keys):
                    session.execute(
                        update(BacktestCacheRow)
                        .where(BacktestCacheRow.key.in_(chunk))
                        .values(last_used_at=self._clock())
                    )
        except (SQLAlchemyError, TraddError) as exc:  # the hits stand; only expiry is later
            self._failed("renew", exc)

    def _ready(self) -> sessionmaker[Session] | None:
        """The sessions, unless the cache is off or resting after an error."""
        if self._sessions is None:
            return None
        if self._rest_until is not None:
            if self._monotonic() < self._rest_until:
                self._skipped += 1
                return None
            log().info("backtest cache in use again", skipped=self._skipped)
            self._rest_until, self._skipped = None, 0
        return self._sessions

    def _failed(self, operation: str, exc: BaseException) -> None:
        lines = [line.strip() for line in str(getattr(exc, "orig", None) or exc).splitlines()]
        reason = next((line for line in lines if line), type(exc).__name__)
        log().warning("backtest cache unavailable: backtests run without it", operation=operation,
                    error=reason, retry_in_s=REST_S)  # fmt: skip
        self._rest_until = self._monotonic() + REST_S


@contextmanager
def open_backtest_cache(
    settings: Settings, clock: Callable[[], datetime] = utc_now
) -> Iterator[BacktestCache]:
    """The cache on the configuration's database (`[runs] cache_days`); a database that
    cannot be opened gives a cache that is off, with a warning, not an error."""
    keep = settings.runs.cache_days
    if keep <= 0:
        yield BacktestCache(None, keep, clock)
        return
    try:
        engine, sessions = open_database(settings.database_url())
    except TraddError as exc:
        log().warning("backtest cache unavailable: backtests run without it", operation="open",
                    error=str(exc))  # fmt: skip
        yield BacktestCache(None, keep, clock)
        return
    try:
        yield BacktestCache(sessions, keep, clock)
    finally:
        engine.dispose()


def expire_cache(settings: Settings, clock: Callable[[], datetime] = utc_now) -> int:
    """Housekeeping: delete the entries unused for `[runs] cache_days`; how many went."""
    with open_backtest_cache(settings, clock) as cache:
        return cache.expire()
