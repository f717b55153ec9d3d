"""Manual WAL checkpoints: the worker keeps SQLite's checkpoint (an fsync) off its order path."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import event

from tradd.persistence.db import SQLITE_WAL_LIMIT, Checkpointer, checkpoint, open_database
from tradd.persistence.ledger import Ledger
from tradd.persistence.records import NewOrder


def _wal(path: Path) -> int:
    return Path(f"{path}-wal").stat().st_size


def test_commits_never_checkpoint_and_checkpoint_cuts_the_wal(tmp_path: Path) -> None:
    path = tmp_path / "tradd.db"
    engine, sessions = open_database(f"sqlite:///{path}", manual_checkpoints=True)
    try:
        ledger = Ledger(sessions, "s1")
        for _ in range(1200):  # well past SQLite's automatic checkpoint at 1000 pages
            ledger.create_orders([NewOrder("GOOG", "BUY", 1, "MKT")])
        grown = _wal(path)
        assert grown > 1000 * 4096  # nobody checkpointed on commit
        checkpoint(engine)
        ledger.create_orders([NewOrder("GOOG", "BUY", 1, "MKT")])  # restarts the WAL: cut back
        assert _wal(path) <= SQLITE_WAL_LIMIT < grown
        assert len(ledger.orders()) == 1201
    finally:
        engine.dispose()


def test_checkpointer_runs_on_its_own_thread(tmp_path: Path) -> None:
    engine, sessions = open_database(f"sqlite:///{tmp_path / 'tradd.db'}", manual_checkpoints=True)
    ran = threading.Event()
    threads: list[str] = []

    @event.listens_for(engine, "checkout")
    def _checked_out(*_args: object) -> None:
        threads.append(threading.current_thread().name)
        ran.set()

    Ledger(sessions, "s1").create_orders([NewOrder("GOOG", "BUY", 1, "MKT")])
    ran.clear()
    threads.clear()
    checkpoints = Checkpointer(engine, interval=0.01)
    checkpoints.start()
    try:
        assert ran.wait(5)
    finally:
        checkpoints.stop()
        engine.dispose()
    assert threads and set(threads) == {"wal-checkpoint"}
