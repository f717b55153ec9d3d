"""Entry points for the child processes of the concurrency tests (spawned, not forked).

Each child opens the database itself, as a worker process would, waits at a barrier so
that all children hit the database together, and reports its results (or its error)
through a queue.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from typing import Any

from tradd.persistence.db import open_database
from tradd.persistence.ledger import Ledger
from tradd.persistence.records import FillRecord, NewOrder

BARRIER_TIMEOUT_S = 60


def _report(queue: Queue[Any], work: Callable[[], Any]) -> None:
    try:
        queue.put(("ok", work()))
    except BaseException:
        queue.put(("error", traceback.format_exc()))


def open_together(url: str, barrier: Barrier, queue: Queue[Any]) -> None:
    """Open (and so migrate) a fresh database at the same moment as the others."""

    def work() -> str:
        barrier.wait(BARRIER_TIMEOUT_S)
        engine, _ = open_database(url)
        engine.dispose()
        return "migrated"

    _report(queue, work)


def create_orders_together(
    url: str, strategy: str, count: int, barrier: Barrier, queue: Queue[Any]
) -> None:
    """Create `count` orders in batches of 1 and 2 (parent + child); report each batch's
    (seq, parent_ref) pairs."""

    def work() -> list[list[tuple[int, str | None]]]:
        engine, sessions = open_database(url)
        ledger = Ledger(sessions, strategy)
        parent = NewOrder("GOOG", "BUY", 1, "MKT")
        child = NewOrder("GOOG", "SELL", 1, "LMT", limit_price=200.0, parent_index=0)
        batches: list[list[tuple[int, str | None]]] = []
        barrier.wait(BARRIER_TIMEOUT_S)
        made = 0
        while made < count:
            batch = [parent] if len(batches) % 2 == 0 or made == count - 1 else [parent, child]
            batches.append([(o.seq, o.parent_ref) for o in ledger.create_orders(batch)])
            made += len(batch)
        engine.dispose()
        return batches

    _report(queue, work)


def add_same_fills_together(
    url: str, strategy: str, exec_ids: list[str], barrier: Barrier, queue: Queue[Any]
) -> None:
    """Try to store the same exec ids as the other processes; report the ones stored."""

    def work() -> list[str]:
        engine, sessions = open_database(url)
        ledger = Ledger(sessions, strategy)
        at = datetime(2024, 1, 2, 15, 0, tzinfo=UTC)
        barrier.wait(BARRIER_TIMEOUT_S)
        stored = [
            exec_id
            for exec_id in exec_ids
            if ledger.add_fill(FillRecord(exec_id, None, "GOOG", "BUY", 1, 100.0, at))
        ]
        engine.dispose()
        return stored

    _report(queue, work)
