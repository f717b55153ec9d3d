"""What the console's tests share: the `tradd` command line on a console's config, a
fake clock, a finished job, the routes of the app."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.routing import iter_route_contexts
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from tests.fixtures.simulator import eventually
from tests.fixtures.web import Console

ROOT = Path(__file__).resolve().parent.parent.parent
SMALL = {"symbols": ["GOOG"], "start_date": "2011-01-03", "end_date": "2011-12-30",
         "strategies": ["strategies.sma_cross.SmaCross"]}  # fmt: skip
"""A one-backtest analysis: a job that finishes in a few seconds."""
SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
LONG = {"symbols": ["GOOG", "ORCL", "NVDA", "YHOO"], "start_date": "2005-01-03",
        "end_date": "2012-12-31",
        "strategies": ["strategies.sma_cross.SmaCross", "strategies.rsi.RsiReversion",
                       "strategies.breakout.DonchianBreakout"]}  # fmt: skip
"""12 backtests of 8 years, one at a time ([web] job_workers = 1): a job that runs for a
while, long enough to be seen running, cancelled or killed."""


def gone(pid: int) -> bool:
    """True once `pid` has ended (a zombie counts as ended)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


@dataclass(frozen=True)
class Done:
    code: int
    stdout: str
    stderr: str


def tradd(console: Console | Path, *args: str, stdin: str = "", timeout: float = 120) -> Done:
    """`python -m tradd ARGS --config <the console's config>` in a process of its own."""
    config = console.config if isinstance(console, Console) else console
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADD_")}
    done = subprocess.run([sys.executable, "-m", "tradd", *args, "--config", str(config)],
                          input=stdin, capture_output=True, text=True, cwd=ROOT, env=env,
                          timeout=timeout, check=False)  # fmt: skip
    return Done(done.returncode, done.stdout, done.stderr)


class FakeClock:
    """A wall clock (`clock()`) and a monotonic one (`monotonic()`) that tests move."""

    def __init__(self) -> None:
        self.wall = datetime.now(UTC)
        self.mono = 1000.0

    def clock(self) -> datetime:
        return self.wall

    def monotonic(self) -> float:
        return self.mono

    def advance(self, seconds: float) -> None:
        self.wall += timedelta(seconds=seconds)
        self.mono += seconds


def status(client: Any, job_id: str) -> dict[str, Any]:
    reply = client.get(f"/api/v1/optimizer/status/{job_id}")
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def wait_status(client: Any, job_id: str, *states: str, timeout: float = 120) -> dict[str, Any]:
    """The job's status once it is one of `states`."""

    def reached() -> dict[str, Any] | None:
        body = status(client, job_id)
        return body if body["status"] in states else None

    found: dict[str, Any] = eventually(reached, timeout, f"{job_id} {'/'.join(states)}")
    return found


def finished(client: Any, job_id: str, timeout: float = 120) -> dict[str, Any]:
    return wait_status(client, job_id, "completed", "failed", "cancelled", timeout=timeout)


def submit(client: Any, body: dict[str, Any] | None = None) -> str:
    reply = client.post("/api/v1/optimizer/analyze", json=body or SMALL)
    assert reply.status_code == 202, reply.text
    job_id: str = reply.json()["job_id"]
    return job_id


def routes(console: Console) -> list[tuple[str, str]]:
    """Every (method, path) the app answers, HEAD aside (it follows GET); mounts (the
    static files) are not routes."""
    found = set()
    for route in iter_route_contexts(console.app.inner.routes):  # routers included, flat
        for method in route.methods or ():
            if method != "HEAD" and route.path is not None:
                found.add((method, route.path))
    assert len(found) > 5, found
    return sorted(found)


def concrete(path: str, value: str = "x") -> str:
    """`path` with each `{parameter}` replaced by `value`."""
    return re.sub(r"\{[^}]+\}", value, path)


def request(client: Any, method: str, path: str, **kwargs: Any) -> Any:
    if method not in SAFE and "json" not in kwargs and "content" not in kwargs:
        kwargs["json"] = {}
    return client.request(method, concrete(path), **kwargs)


@contextmanager
def database_down(url: str) -> Iterator[None]:
    """The console's database out of reach while inside, back afterwards: a PostgreSQL
    database that refuses connections (its sessions ended), or a SQLite file whose header
    is destroyed (what a damaged or replaced file looks like to the connections open)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        with _sqlite_header_destroyed(Path(parsed.database or "")):
            yield
        return
    name = parsed.database
    server = create_engine(parsed.set(drivername="postgresql+psycopg", database="postgres"),
                           isolation_level="AUTOCOMMIT", poolclass=NullPool)  # fmt: skip
    try:
        with server.connect() as connection:
            connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
            connection.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                    "WHERE datname = :name"), {"name": name})  # fmt: skip
        try:
            yield
        finally:
            with server.connect() as connection:
                connection.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
    finally:
        server.dispose()


@contextmanager
def _sqlite_header_destroyed(path: Path) -> Iterator[None]:
    """The file's header zeroed while inside. Every connection open must see it at its next
    read: the WAL is emptied into the file first (so page 1 is read from the file), and a
    commit after the damage (of a page other than page 1) tells them all to drop their
    caches."""
    with closing(sqlite3.connect(path, isolation_level=None, timeout=15)) as writer:
        eventually(lambda: writer.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0,
                   10, "a checkpoint")  # fmt: skip
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("UPDATE users SET disabled = disabled")
        with path.open("r+b") as handle:
            header = handle.read(16)
            handle.seek(0)
            handle.write(b"\0" * 16)
        writer.execute("COMMIT")
    try:
        yield
    finally:
        with path.open("r+b") as handle:
            handle.write(header)
