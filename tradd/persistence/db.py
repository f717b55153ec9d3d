"""Engines, sessions and schema migration for SQLite files and PostgreSQL.

Several processes (one worker per strategy, the supervisor, `tradctl`) share one
database, so both backends are configured for concurrent writers: SQLite runs in WAL
mode with a busy timeout and every write transaction takes the write lock up front
(`BEGIN IMMEDIATE`), PostgreSQL connections are checked before use. Migrations run
from code on every start, serialised between processes, so no `alembic.ini` or manual
step is ever needed.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import structlog
from alembic import command
from alembic.config import Config
from alembic.util.exc import CommandError
from pydantic import SecretStr
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, ExceptionContext, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

from tradd.config.loader import redact_url
from tradd.errors import ConfigError, TemporaryError

log = structlog.get_logger("tradd.persistence.db")
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BEGIN = "tradd_sqlite_begin"
"""Execution option naming the SQLite BEGIN mode ("DEFERRED" or "IMMEDIATE")."""
SUPPORTED_BACKENDS = ("sqlite", "postgresql")
SQLITE_BUSY_TIMEOUT_MS = 15000
"""How long a write waits for another process's lock: ten workers, the supervisor's alert
outbox and a migration at start-up share one SQLite file on a busy host."""
SQLITE_WAL_LIMIT = 16 * 1024 * 1024
"""Bytes a WAL file is cut back to once checkpointed (it never shrinks otherwise)."""
SQLITE_UNUSABLE = frozenset({10, 11, 14, 26})
"""SQLITE_IOERR, SQLITE_CORRUPT, SQLITE_CANTOPEN, SQLITE_NOTADB (primary codes): errors
after which a connection is replaced, not reused."""
PG_CONNECT_TIMEOUT_S = 10
PG_MIGRATION_LOCK = 0x7472_6164_6400
"""pg_advisory_xact_lock key held while migrating ("tradd" in hex)."""


def _secret(url: str | SecretStr) -> str:
    return url.get_secret_value() if isinstance(url, SecretStr) else url


def _parse(raw: str) -> URL:
    try:
        url = make_url(raw)
    except (ArgumentError, ValueError):
        raise ConfigError(f"database URL {redact_url(raw)!r} is not a valid URL") from None
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url


def make_engine(
    url: str | SecretStr, *, echo: bool = False, manual_checkpoints: bool = False
) -> Engine:
    """An engine for `url`, tuned for several processes sharing the database.

    `postgresql://` is rewritten to the psycopg 3 driver (the only one installed). A
    SQLite file's directory is created, so a fresh state directory just works. Any
    other backend, or a driver that is not installed, is a ConfigError.
    """
    raw = _secret(url)
    parsed = _parse(raw)
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED_BACKENDS:
        raise ConfigError(
            f"database URL {redact_url(raw)!r}: unsupported backend {backend!r} "
            f"(use {' or '.join(SUPPORTED_BACKENDS)})"
        )
    try:
        if backend == "sqlite":
            return _sqlite_engine(parsed, echo, manual_checkpoints)
        connect_args: dict[str, Any] = {}
        if "connect_timeout" not in parsed.query:
            connect_args["connect_timeout"] = PG_CONNECT_TIMEOUT_S
        return create_engine(parsed, echo=echo, pool_pre_ping=True, connect_args=connect_args)
    except (ArgumentError, ImportError) as exc:  # e.g. an uninstalled driver: +asyncpg
        raise ConfigError(f"database URL {redact_url(raw)!r}: {exc}") from None


def _sqlite_engine(url: URL, echo: bool, manual_checkpoints: bool) -> Engine:
    database = url.database or ""
    in_memory = database in ("", ":memory:") or database.startswith("file::memory:")
    if in_memory:
        # One shared connection, or every pooled connection would see its own empty database.
        engine = create_engine(
            url, echo=echo, poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
    else:
        directory = Path(database).expanduser().parent
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"database URL {url.render_as_string()!r}: cannot create {directory}: "
                f"{exc.strerror or exc}"
            ) from None
        engine = create_engine(url, echo=echo)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # Stop the sqlite3 module from issuing its own BEGIN (it skips it before DDL and
        # SELECT, which breaks transactional migrations); `_on_begin` issues it instead.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            # busy_timeout first: switching to WAL needs a lock another process may hold.
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute(f"PRAGMA journal_size_limit = {SQLITE_WAL_LIMIT}")
            if manual_checkpoints:
                # A commit that crosses the WAL size limit runs the checkpoint (an fsync)
                # itself: 20 ms on the order path. The worker checkpoints off that path.
                cursor.execute("PRAGMA wal_autocheckpoint = 0")
        finally:
            cursor.close()

    @event.listens_for(engine, "handle_error")
    def _on_error(context: ExceptionContext) -> None:
        # A connection that met a damaged, vanished or unreadable file keeps failing after
        # the file is back ("file is not a database" forever): drop it as a lost one, so
        # the next checkout opens a fresh connection and the process recovers.
        code = getattr(context.original_exception, "sqlite_errorcode", None)
        if isinstance(code, int) and code & 0xFF in SQLITE_UNUSABLE:
            context.is_disconnect = True

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # A deferred transaction that reads and then writes fails at once with "database
        # is locked" if another process wrote in between (WAL cannot upgrade a stale
        # snapshot, and the busy timeout does not apply); IMMEDIATE waits for the lock.
        mode = connection.get_execution_options().get(SQLITE_BEGIN, "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {'IMMEDIATE' if mode == 'IMMEDIATE' else ''}")

    return engine


def checkpoint(engine: Engine) -> None:
    """Move a SQLite WAL's pages into the database file without waiting for readers
    (PASSIVE); for engines made with `manual_checkpoints`. Nothing to do on PostgreSQL."""
    if engine.dialect.name != "sqlite":
        return
    connection = engine.raw_connection()  # outside a transaction: no BEGIN from `_on_begin`
    try:
        cursor = connection.cursor()
        cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
        cursor.close()
    finally:
        connection.close()


class Checkpointer:
    """Checkpoints a SQLite WAL every `interval` seconds on a thread of its own, so the
    fsync it costs never lands on the worker's order path."""

    def __init__(self, engine: Engine, interval: float) -> None:
        self._engine, self._interval = engine, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wal-checkpoint", daemon=True)

    def start(self) -> None:
        if self._engine.dialect.name == "sqlite":
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                checkpoint(self._engine)
            except SQLAlchemyError as exc:  # busy or gone: the next round tries again
                log.warning("WAL checkpoint failed", error=str(exc).splitlines()[0])


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions whose objects stay readable after commit (the ledger copies them out)."""
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration pointing at the packaged migrations, without a file."""
    config = Config()
    # Config values go through configparser interpolation, where % is special.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema up to the newest revision; does nothing when it is current.

    The whole upgrade runs in one transaction (both backends have transactional DDL)
    behind a lock, so two processes starting together do not both try to create the
    tables: the second waits, then finds the schema current.
    """
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            connection.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
        with connection.begin():
            if engine.dialect.name == "postgresql":
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_MIGRATION_LOCK}
                )
            command.upgrade(alembic_config(connection), "head")


def open_database(
    url: str | SecretStr, *, echo: bool = False, manual_checkpoints: bool = False
) -> tuple[Engine, sessionmaker[Session]]:
    """Connect, migrate and return the engine and its session factory.

    Raises TemporaryError (retry later) when the database cannot be reached or migrated,
    ConfigError when the URL itself is malformed or unsupported, or when the database
    holds a schema revision this tradd does not know (a newer tradd migrated it).
    No message holds the password.
    """
    raw = _secret(url)
    engine = make_engine(raw, echo=echo, manual_checkpoints=manual_checkpoints)
    try:
        migrate(engine)
    except SQLAlchemyError as exc:
        engine.dispose()
        raise TemporaryError(
            f"cannot open database {redact_url(raw)}: {_describe(exc, raw)}"
        ) from None
    except CommandError as exc:
        engine.dispose()
        raise ConfigError(
            f"cannot migrate database {redact_url(raw)}: {exc} (written by a newer tradd?)"
        ) from None
    return engine, session_factory(engine)


def _describe(exc: SQLAlchemyError, raw_url: str) -> str:
    """The driver's first line of complaint, scrubbed of the URL and password."""
    original = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(original).splitlines() if line.strip()]
    reason = lines[0] if lines else type(original).__name__
    reason = reason.replace(raw_url, redact_url(raw_url))
    password = make_url(raw_url).password
    if password:
        reason = reason.replace(str(password), "***")
    return reason
