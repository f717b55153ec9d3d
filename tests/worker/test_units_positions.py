"""`held_rows`: the broker's positions as the worker records them, one row per symbol.
A symbol listed twice crashed the worker in `Ledger.snapshot_positions` (issue 15)."""

from __future__ import annotations

import pytest
import structlog.testing

from tradd.ib.types import BrokerPosition
from tradd.persistence.records import PositionRow
from tradd.worker.positions import held_rows


def test_one_row_per_symbol_of_the_strategy() -> None:
    rows = held_rows([BrokerPosition("GOOG", 10, 400.0, "DU1"),
                      BrokerPosition("ORCL", 5, 12.0, "DU1")], ("GOOG",))  # fmt: skip
    assert rows == [PositionRow("GOOG", 10, 400.0)]


def test_a_symbol_listed_twice_is_added_up_and_logged() -> None:
    with structlog.testing.capture_logs() as logs:
        rows = held_rows([BrokerPosition("GOOG", 10, 400.0, "DU1"),
                          BrokerPosition("GOOG", 30, 420.0, "DU1")], ("GOOG",))  # fmt: skip
    assert [(r.symbol, r.quantity) for r in rows] == [("GOOG", 40)]
    assert rows[0].avg_cost == pytest.approx(415.0)
    assert [e["symbol"] for e in logs if "more than once" in e["event"]] == ["GOOG"]


def test_closed_rows_keep_the_last_cost() -> None:
    rows = held_rows([BrokerPosition("GOOG", 0, 400.0), BrokerPosition("GOOG", 0, 410.0)],
                     ("GOOG",))  # fmt: skip
    assert [(r.symbol, r.quantity, r.avg_cost) for r in rows] == [("GOOG", 0, 410.0)]
