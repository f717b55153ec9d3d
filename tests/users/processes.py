"""Entry point of the child processes of `test_ensure_admin_in_processes_starting_together`."""

from __future__ import annotations

from datetime import UTC, datetime
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from typing import Any

from tests.persistence.processes import BARRIER_TIMEOUT_S, _report
from tradd.persistence.db import open_database
from tradd.users import UserStore


def ensure_admin_together(url: str, barrier: Barrier, queue: Queue[Any]) -> None:
    """Call `ensure_admin` at the same moment as the others; report the password or None."""

    def work() -> str | None:
        engine, sessions = open_database(url)
        try:
            store = UserStore(sessions, lambda: datetime.now(UTC))
            barrier.wait(BARRIER_TIMEOUT_S)
            password = store.ensure_admin()
            return password.get_secret_value() if password is not None else None
        finally:
            engine.dispose()

    _report(queue, work)
