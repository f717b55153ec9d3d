"""Revision 0003_runs: down removes research_runs and nothing else, up brings it back."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Engine, inspect, text

from tests.fixtures.database import OpenedDatabase
from tests.persistence.test_db import HEAD, differences
from tradd.persistence.db import alembic_config


def migrate_to(engine: Engine, target: str, down: bool = False) -> None:
    with engine.begin() as connection:
        step = command.downgrade if down else command.upgrade
        step(alembic_config(connection), target)


def state(engine: Engine) -> tuple[str, set[str]]:
    with engine.connect() as connection:
        version = str(connection.scalar(text("SELECT version_num FROM alembic_version")))
    return version, set(inspect(engine).get_table_names())


def test_the_runs_revision_downgrades_and_upgrades_cleanly(database: OpenedDatabase) -> None:
    engine = database.engine
    version, tables = state(engine)
    assert version == HEAD and "research_runs" in tables
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO research_runs (id, kind, status, created_at, progress_done, request) "
            "VALUES ('scan-1', 'scan', 'running', '2026-01-01 00:00:00', 0, '{}')"
        ))  # fmt: skip
    migrate_to(engine, "0002_alerts", down=True)
    assert state(engine) == (
        "0002_alerts",
        tables
        - {"research_runs", "users", "api_tokens", "backtest_cache", "web_jobs", "audit_log"}
        - {"drift_results", "live_sessions", "live_bars", "schedule_fires", "proposals"},
    )
    migrate_to(engine, "head")
    assert state(engine) == (HEAD, tables)
    assert differences(engine) == []  # indexes and constraints back exactly as the models say


def test_the_lease_revision_keeps_old_runs_and_downgrades_cleanly(
    database: OpenedDatabase,
) -> None:
    """0005_run_lease: runs from before it keep their rows, with no process and no lease."""
    engine = database.engine
    migrate_to(engine, "0004_client_ref", down=True)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO research_runs (id, kind, status, created_at, progress_done, request) "
            "VALUES ('scan-1', 'scan', 'running', '2026-01-01 00:00:00', 0, '{}')"
        ))  # fmt: skip
    columns = {c["name"] for c in inspect(engine).get_columns("research_runs")}
    assert "alive_at" not in columns
    migrate_to(engine, "head")
    assert state(engine)[0] == HEAD
    with engine.connect() as connection:
        row = connection.execute(text(
            "SELECT status, host, pid, process_start, lease_s, alive_at FROM research_runs"
        )).one()  # fmt: skip
    assert tuple(row) == ("running", None, None, None, None, None)
    assert differences(engine) == []
