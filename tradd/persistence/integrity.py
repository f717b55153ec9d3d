"""`PRAGMA quick_check` of a SQLite ledger before anything trades on it.

A damaged ledger otherwise shows only as every worker crash-looping on its first write.
`tradd run` calls `check_integrity` at start; it uses the standard library's sqlite3 and
no SQLAlchemy, so the supervisor (which never opens the ledger itself at start) stays
small. PostgreSQL checks its own pages; it has nothing to do here.
"""

from __future__ import annotations

import sqlite3
import urllib.parse
from pathlib import Path

from pydantic import SecretStr

from tradd.errors import DataError

BUSY_TIMEOUT_S = 15.0
"""As the engines' busy timeout: another process may hold a write lock a moment."""


class CorruptDatabase(DataError):
    """The SQLite ledger fails its integrity check: nothing may trade on it (exit 65)."""


def sqlite_file(url: str | SecretStr) -> Path | None:
    """The file a `sqlite://` URL names; None for other backends and in-memory databases."""
    raw = url.get_secret_value() if isinstance(url, SecretStr) else url
    scheme, sep, rest = raw.partition("://")
    if not sep or scheme.split("+")[0] != "sqlite" or not rest.startswith("/"):
        return None
    database = rest[1:].split("?", 1)[0]  # sqlite:///relative, sqlite:////absolute
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return Path(database).expanduser()


def check_integrity(url: str | SecretStr) -> None:
    """CorruptDatabase naming the file and SQLite's first complaint when the SQLite file
    `url` names fails `PRAGMA quick_check`. A file not created yet passes (so does every
    other backend). Never creates or writes the file."""
    path = sqlite_file(url)
    if path is None or not path.is_file():
        return
    try:
        problems = _quick_check(path)
    except sqlite3.Error as exc:  # "file is not a database", "disk image is malformed"
        problems = [str(exc)]
    if problems:
        more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        raise CorruptDatabase(
            f"database {path} fails PRAGMA quick_check: {problems[0]}{more}; not starting. "
            "Restore it from a backup (or salvage it with `sqlite3 FILE .recover`)"
        )


def _quick_check(path: Path) -> list[str]:
    """SQLite's complaints about `path`; empty when it answers "ok"."""
    uri = f"file:{urllib.parse.quote(str(path.absolute()))}?mode=rw"  # rw: never created
    connection = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S)
    try:
        rows = connection.execute("PRAGMA quick_check").fetchall()
    finally:
        connection.close()
    found = [str(row[0]) for row in rows]
    return [] if found == ["ok"] else found
