"""Where an optimization's trials live: a journal file (default) or an SQL database.

A `StorageSpec` is a description, not a connection: every process (each forked worker,
each cooperating `tradd optimize`) opens its own, as Optuna requires.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import optuna
from optuna.storages import BaseStorage, JournalStorage, RDBStorage, get_storage
from optuna.storages.journal import JournalFileBackend

from tradd.config.loader import redact_url
from tradd.errors import TemporaryError, UsageError

JOURNAL_SUFFIXES = (".journal", ".log", ".jsonl")
DEFAULT_JOURNAL = "study.journal"
RDB_ATTEMPTS = 5


@dataclass(frozen=True)
class StorageSpec:
    kind: Literal["journal", "rdb"]
    target: str
    """A file path for journals, an SQLAlchemy URL for databases (may hold a password)."""

    @property
    def display(self) -> str:
        """Safe to print and log."""
        return self.target if self.kind == "journal" else redact_url(self.target)

    def open(self, *, sleep: Callable[[float], None] = time.sleep) -> BaseStorage:
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        if self.kind == "journal":
            Path(self.target).parent.mkdir(parents=True, exist_ok=True)
            return JournalFile(self.target)
        return self._open_rdb(sleep)

    def _open_rdb(self, sleep: Callable[[float], None]) -> BaseStorage:
        # Processes starting together on an empty database race to create Optuna's tables;
        # the loser fails once and succeeds when it tries again.
        reason = ""
        for attempt in range(RDB_ATTEMPTS):
            try:
                rdb = RDBStorage(self.target, engine_kwargs={"pool_pre_ping": True})
                # Studies wrap an RDBStorage in Optuna's cache; wrap it here instead, so the
                # study and our own storage calls (claiming slots) share one view.
                return get_storage(rdb)
            except Exception as exc:  # SQLAlchemy/driver errors vary; all mean "not now"
                reason = str(exc).splitlines()[0].replace(self.target, self.display)
                sleep(0.2 * 2**attempt)
        raise TemporaryError(f"cannot open optimization storage {self.display}: {reason}")


def parse_storage(url: str | None, output: Path) -> StorageSpec:
    """`--storage` value -> spec. None means a journal file in the output directory."""
    if url is None or not url.strip():
        return StorageSpec("journal", str(output / DEFAULT_JOURNAL))
    text = url.strip()
    if text.startswith("journal:"):
        path = text[len("journal:") :]
        if not path:
            raise UsageError("--storage journal: needs a file path, e.g. journal:study.journal")
        return StorageSpec("journal", path)
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if scheme in ("postgresql", "postgres"):
        return StorageSpec("rdb", "postgresql+psycopg://" + text.split("://", 1)[1])
    if scheme.startswith(("postgresql+", "sqlite", "mysql")):
        return StorageSpec("rdb", text)
    if not scheme and text.endswith(JOURNAL_SUFFIXES):
        return StorageSpec("journal", text)
    raise UsageError(
        f"--storage {redact_url(text)!r}: not a storage URL; use postgresql://USER@HOST/DB, "
        f"sqlite:///PATH.db, or a journal file (PATH.journal or journal:PATH)"
    )


class _HoldingBackend(JournalFileBackend):
    """A journal file that can hold its appends and write them as one (`hold`)."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self._held: list[dict[str, Any]] | None = None

    def append_logs(self, logs: list[dict[str, Any]]) -> None:
        if self._held is not None:
            self._held.extend(logs)
            return
        super().append_logs(logs)

    @contextmanager
    def hold(self) -> Iterator[None]:
        if self._held is not None:  # nested: the outer one writes
            yield
            return
        self._held = []
        try:
            yield
        finally:
            held, self._held = self._held, None
            if held:
                super().append_logs(held)


class JournalFile(JournalStorage):
    """Optuna's journal storage whose writes can be batched (`batched`).

    Each write to a journal file takes its lock and an fsync (about 1.5 ms): a trial's
    params, metrics, returns and outcome are seven writes, more than a tenth of a
    2,000-bar backtest. Batched, they are one append: the same lines in the same order,
    so every reader (this process included) replays the same history."""

    def __init__(self, path: str) -> None:
        self._file = _HoldingBackend(path)
        super().__init__(self._file)

    @contextmanager
    def hold(self) -> Iterator[None]:
        with self._file.hold():
            yield
        with self._thread_lock:  # our own writes are visible (or their error raised) now
            self._sync_with_backend()


@contextmanager
def batched(storage: BaseStorage, *, enabled: bool = True) -> Iterator[None]:
    """The writes made inside reach `storage` together at the end, as one append.

    Until then nobody sees them, this process included: only for writes that nothing
    reads before the block ends (a trial's results; the slots of a study not yet ready).
    A process killed inside loses them all, as it would lose a trial it was running.
    A no-op for SQL storages (each write is its own transaction there)."""
    if enabled and isinstance(storage, JournalFile):
        with storage.hold():
            yield
    else:
        yield
