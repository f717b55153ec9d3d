"""The backtest cache's store and keys: round trips, housekeeping on an injected clock,
and database errors that are logged once and never raised. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from structlog.testing import capture_logs

from tests.fixtures.database import OpenedDatabase
from tradd.research.cache import BacktestCache, Fingerprints, Uncacheable, cache_key
from tradd.research.cache.store import REST_S
from tradd.strategy_loader import load_strategy

T0 = datetime(2026, 1, 1, tzinfo=UTC)
RESULT = {"total_return": 0.1 + 0.2, "sharpe": 1 / 3, "total_trades": 7, "warmup_enough": True}


class Clock:
    """Wall and monotonic time the test moves by hand."""

    def __init__(self) -> None:
        self.now, self.seconds = T0, 0.0

    def wall(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        return self.seconds


def cache_on(database: OpenedDatabase, clock: Clock, keep_days: int = 30) -> BacktestCache:
    return BacktestCache(database.sessions, keep_days, clock.wall, clock.monotonic)


def test_a_stored_result_comes_back_exactly_and_a_second_store_keeps_the_first(
    database: OpenedDatabase,
) -> None:
    cache = cache_on(database, Clock())
    assert cache.store("scan", {"a" * 64: RESULT}) == 1
    assert cache.store("scan", {"a" * 64: {**RESULT, "sharpe": 9.0}, "b" * 64: RESULT}) == 1
    found = cache.lookup(["a" * 64, "b" * 64, "c" * 64])
    assert found == {"a" * 64: RESULT, "b" * 64: RESULT}
    assert found["a" * 64]["total_return"] == 0.1 + 0.2  # floats exactly, not rounded


def test_housekeeping_deletes_what_was_not_used_for_cache_days(database: OpenedDatabase) -> None:
    clock = Clock()
    cache = cache_on(database, clock)
    cache.store("scan", {"used" + "0" * 60: RESULT, "idle" + "0" * 60: RESULT})
    clock.now = T0 + timedelta(days=20)
    assert list(cache.lookup(["used" + "0" * 60])) == ["used" + "0" * 60]  # renews it
    clock.now = T0 + timedelta(days=30)
    assert cache.expire() == 0  # exactly 30 days unused: kept
    clock.now = T0 + timedelta(days=31)
    assert cache.expire() == 1
    assert list(cache.lookup(["used" + "0" * 60, "idle" + "0" * 60])) == ["used" + "0" * 60]


def test_a_failing_database_is_logged_once_per_rest_and_never_raised(
    database: OpenedDatabase,
) -> None:
    clock = Clock()
    cache = cache_on(database, clock)
    cache.store("scan", {"a" * 64: RESULT})
    with database.engine.begin() as connection:
        connection.execute(text("DROP TABLE backtest_cache"))
    with capture_logs() as logs:
        assert cache.lookup(["a" * 64]) == {}
        assert cache.store("scan", {"b" * 64: RESULT}) == 0
        assert cache.expire() == 0
        clock.seconds = REST_S  # rested: tried again, fails again, one more line
        assert cache.lookup(["a" * 64]) == {}
    events = [(e["event"], e.get("operation"), e.get("skipped")) for e in logs]
    assert events == [
        ("backtest cache unavailable: backtests run without it", "lookup", None),
        ("backtest cache in use again", None, 2),
        ("backtest cache unavailable: backtests run without it", "lookup", None),
    ]


def test_cache_days_0_turns_the_cache_off(database: OpenedDatabase) -> None:
    cache = cache_on(database, Clock(), keep_days=0)
    assert not cache.enabled
    assert cache.store("scan", {"a" * 64: RESULT}) == 0 and cache.lookup(["a" * 64]) == {}
    assert cache_on(database, Clock()).lookup(["a" * 64]) == {}


def test_keys_follow_content_not_names_and_refuse_what_has_no_stable_form(
    tmp_path: Path,
) -> None:
    prints = Fingerprints()
    one, two = tmp_path / "one.csv", tmp_path / "two.csv"
    one.write_text("a,b\n1,2\n")
    two.write_text("a,b\n1,2\n")
    assert prints.file(one) == prints.file(two) is not None
    first = prints.file(one)
    one.write_text("a,b\n1,30\n")  # another size too: mtime_ns may not have moved
    assert prints.file(one) != first
    assert prints.file(tmp_path / "none.csv") is None
    assert cache_key({"b": 1, "a": [1.5, None]}) == cache_key({"a": [1.5, None], "b": 1})
    assert cache_key({"a": 1}) != cache_key({"a": 1.5})
    with pytest.raises(Uncacheable):
        cache_key({"param": object()})
    with pytest.raises(Uncacheable):
        cache_key({"x": float("nan")})


def test_a_strategy_in_a_package_is_keyed_by_every_file_of_the_package() -> None:
    """A helper module the strategy imports from its package changes the key too."""
    sources = Fingerprints().strategy(load_strategy("strategies.sma_cross.SmaCross"))
    assert {"strategies/sma_cross.py", "strategies/rsi.py", "strategies/__init__.py"} <= set(
        sources
    )
    assert not any(label.startswith(("tradd", "backtrader")) for label in sources)
