"""db.py: the migration creates exactly the models' schema, opening errors are the right
kind and never show a password, SQLite writes take the write lock up front."""

from __future__ import annotations

import socket
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import CheckConstraint, Column, Engine, Integer, MetaData, inspect, text
from sqlalchemy.engine import make_url

from tests.fixtures.database import OpenedDatabase
from tests.persistence.conftest import T0, SqlLog, sqlite_only
from tests.persistence.processes import open_together
from tests.persistence.spawn import run_together
from tradd.errors import ConfigError, TemporaryError
from tradd.persistence import (
    db,
    models,  # noqa: F401  (every table, into Base.metadata)
)
from tradd.persistence.db import open_database
from tradd.persistence.ledger import Ledger
from tradd.persistence.records import FillRecord, NewOrder, PositionRow
from tradd.persistence.schema import NAMING_CONVENTION, Base

HEAD = "0010_schedules"


def differences(engine: Engine, metadata: MetaData = Base.metadata) -> list[Any]:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        return list(compare_metadata(context, metadata))


def check_constraints(engine: Engine) -> dict[str, set[str]]:
    inspector = inspect(engine)
    return {
        table: {str(c["name"]) for c in inspector.get_check_constraints(table)}
        for table in inspector.get_table_names()
        if table != "alembic_version"
    }


def revision(engine: Engine) -> str:
    with engine.connect() as connection:
        return str(connection.scalar(text("SELECT version_num FROM alembic_version")))


def test_the_migration_creates_exactly_the_models_schema(database: OpenedDatabase) -> None:
    assert differences(database.engine) == []
    expected = {
        table.name: {str(c.name) for c in table.constraints if isinstance(c, CheckConstraint)}
        for table in Base.metadata.sorted_tables
    }
    assert check_constraints(database.engine) == expected
    assert revision(database.engine) == HEAD


def test_the_schema_comparison_would_notice_a_difference(database: OpenedDatabase) -> None:
    changed = MetaData(naming_convention=NAMING_CONVENTION)
    for table in Base.metadata.sorted_tables:
        table.to_metadata(changed)
    changed.tables["fills"].append_column(Column("venue", Integer, nullable=True))
    diffs = differences(database.engine, changed)
    assert [(d[0], d[2], d[3].name) for d in diffs] == [("add_column", "fills", "venue")]


def test_opening_again_is_a_no_op(database: OpenedDatabase) -> None:
    Ledger(database.sessions, "sma_goog").create_orders([NewOrder("GOOG", "BUY", 1, "MKT")])
    engine, sessions = open_database(database.url)
    try:
        assert revision(engine) == HEAD
        assert len(Ledger(sessions, "sma_goog").orders()) == 1
    finally:
        engine.dispose()


def test_processes_starting_together_on_a_fresh_database_migrate_it_once(
    database_url: str,
) -> None:
    assert run_together(open_together, [(database_url,)] * 3) == ["migrated"] * 3
    engine, _ = open_database(database_url)
    try:
        assert differences(engine) == []
        assert revision(engine) == HEAD
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("not a url", "'not a url'"),
        ("postgresql://tradd:s3cr3t@db:port/tradd", "postgresql://tradd:***@db:port/tradd"),
        ("mysql://tradd:s3cr3t@db/tradd", "unsupported backend 'mysql'"),
        ("postgresql+asyncpg://tradd:s3cr3t@db/tradd", "No module named 'asyncpg'"),
    ],
)
def test_a_malformed_or_unsupported_url_is_a_config_error(url: str, shown: str) -> None:
    with pytest.raises(ConfigError) as caught:
        open_database(url)
    assert shown in str(caught.value)
    assert "s3cr3t" not in str(caught.value)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_postgresql_is_a_temporary_error_without_the_password() -> None:
    url = f"postgresql://tradd:pw-s3cr3t@127.0.0.1:{free_port()}/tradd?connect_timeout=2"
    with pytest.raises(TemporaryError) as caught:
        open_database(url)
    message = str(caught.value)
    assert message.startswith("cannot open database postgresql://tradd:***@127.0.0.1:")
    assert "refused" in message.lower()
    assert "pw-s3cr3t" not in message
    assert caught.value.__suppress_context__  # the driver's error is not chained into logs


@pytest.mark.postgres
@pytest.mark.xdist_group("postgres")
def test_a_missing_postgresql_database_is_a_temporary_error(postgres_url: str) -> None:
    url = make_url(postgres_url).set(password="pw-s3cr3t", database="tradd_no_such_db")
    with pytest.raises(
        TemporaryError, match='database "tradd_no_such_db" does not exist'
    ) as caught:
        open_database(url.render_as_string(hide_password=False))
    assert "pw-s3cr3t" not in str(caught.value)


def test_a_sqlite_file_gets_its_directory(tmp_path: Path) -> None:
    path = tmp_path / "state" / "nested" / "tradd.db"
    engine, _ = open_database(f"sqlite:///{path}")
    engine.dispose()
    assert path.is_file()


def test_a_sqlite_directory_that_cannot_be_created_is_a_config_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(ConfigError, match="cannot create .*a-file"):
        open_database(f"sqlite:///{blocker / 'tradd.db'}")


def test_a_database_from_a_newer_tradd_is_a_config_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'tradd.db'}"
    engine, _ = open_database(url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0099_future'"))
    engine.dispose()
    with pytest.raises(ConfigError, match="0099_future.*newer tradd"):
        open_database(url)


@sqlite_only
def test_every_sqlite_write_takes_the_write_lock_up_front(
    database: OpenedDatabase, sql_log: SqlLog
) -> None:
    ledger = Ledger(database.sessions, "sma_goog")
    ref = ledger.create_orders([NewOrder("GOOG", "BUY", 1, "MKT")])[0].order_ref
    fill = FillRecord("x1", ref, "GOOG", "BUY", 1, 10.0, T0)
    writes: dict[str, Callable[[], object]] = {
        "create_orders": lambda: ledger.create_orders([NewOrder("GOOG", "BUY", 1, "MKT")]),
        "update_order": lambda: ledger.update_order(
            ref, status="Submitted", filled=0, remaining=1, avg_fill_price=None
        ),
        "add_fill": lambda: ledger.add_fill(fill),
        "set_commission": lambda: ledger.set_commission("x1", 1.0, None),
        "snapshot_positions": lambda: ledger.snapshot_positions([PositionRow("GOOG", 1)], "ledger"),
        "snapshot_equity": lambda: ledger.snapshot_equity(net_liquidation=1.0),
        "record_risk_decision": lambda: ledger.record_risk_decision(
            action="approve", reason="ok", trading_state="ACTIVE"
        ),
        "record_connection_event": lambda: ledger.record_connection_event("lost", "1100"),
        "save_state": lambda: ledger.save_state(
            trading_state="ACTIVE", reason=None, equity_peak=None, day=None, day_start_equity=None
        ),
    }
    for name, write in writes.items():
        sql_log.clear()
        write()
        assert sql_log.statements[0] == "BEGIN IMMEDIATE", name
    sql_log.clear()
    ledger.orders()
    assert sql_log.statements[0].strip() == "BEGIN"  # reads do not block writers


def test_a_locked_sqlite_database_is_a_temporary_error_and_reads_go_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_MS", 50)
    path = tmp_path / "tradd.db"
    engine, sessions = open_database(f"sqlite:///{path}")
    ledger = Ledger(sessions, "sma_goog")
    ledger.create_orders([NewOrder("GOOG", "BUY", 1, "MKT")])
    other_process = sqlite3.connect(path, isolation_level=None)
    try:
        other_process.execute("BEGIN IMMEDIATE")
        with pytest.raises(TemporaryError, match="database unavailable: database is locked"):
            ledger.create_orders([NewOrder("GOOG", "BUY", 1, "MKT")])
        assert len(ledger.orders()) == 1  # WAL: readers are not blocked by the writer
        other_process.execute("ROLLBACK")
        assert ledger.create_orders([NewOrder("GOOG", "BUY", 1, "MKT")])[0].seq == 2
    finally:
        other_process.close()
        engine.dispose()
