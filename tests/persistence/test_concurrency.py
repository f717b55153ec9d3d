"""Several worker processes on one database: order sequences and fill dedup stay exact."""

from __future__ import annotations

from itertools import chain

from tests.persistence.processes import add_same_fills_together, create_orders_together
from tests.persistence.spawn import run_together
from tradd.persistence.db import open_database
from tradd.persistence.ledger import Ledger, make_order_ref
from tradd.persistence.records import NewOrder

PROCESSES = 4
ORDERS_EACH = 50


def test_concurrent_create_orders_get_unique_gap_free_sequences(database_url: str) -> None:
    engine, sessions = open_database(database_url)  # migrated up front: this is about seqs
    try:
        args = [(database_url, "sma_goog", ORDERS_EACH)] * PROCESSES
        results = run_together(create_orders_together, args)
        batches = list(chain.from_iterable(results))
        seqs = [seq for batch in batches for seq, _ in batch]
        assert sorted(seqs) == list(range(1, PROCESSES * ORDERS_EACH + 1))  # unique, no gaps
        for batch in batches:  # a batch's orders are consecutive, children point at parents
            (parent_seq, parent_ref), *children = batch
            assert parent_ref is None
            assert [seq for seq, _ in children] == list(
                range(parent_seq + 1, parent_seq + len(batch))
            )
            assert all(ref == make_order_ref("sma_goog", parent_seq) for _, ref in children)
        stored = Ledger(sessions, "sma_goog").orders()
        assert [o.seq for o in stored] == sorted(seqs)
        next_order = Ledger(sessions, "sma_goog").create_orders([NewOrder("GOOG", "BUY", 1, "MKT")])
        assert next_order[0].seq == PROCESSES * ORDERS_EACH + 1
    finally:
        engine.dispose()


def test_concurrent_inserts_of_the_same_exec_ids_store_each_once(database_url: str) -> None:
    engine, sessions = open_database(database_url)
    try:
        exec_ids = [f"0000e1.{i:04d}" for i in range(40)]
        strategies = ["sma_goog", "rsi_orcl", "sma_goog"]
        results = run_together(
            add_same_fills_together, [(database_url, s, exec_ids) for s in strategies]
        )
        stored = list(chain.from_iterable(results))
        assert sorted(stored) == exec_ids  # each exec id accepted by exactly one process
        mine = Ledger(sessions, "sma_goog").fills() + Ledger(sessions, "rsi_orcl").fills()
        assert sorted(f.exec_id for f in mine) == exec_ids
    finally:
        engine.dispose()
