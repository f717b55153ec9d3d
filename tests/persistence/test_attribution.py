"""Attribution's edges on a real database: a worker started after the period began, a
position whose unrealized P&L no snapshot knows, a bad period."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.alerts.test_summary import fill
from tradd.persistence.attribution import attribute
from tradd.persistence.ledger import Ledger


def at(hour: int, day: int = 2) -> datetime:
    return datetime(2026, 12, day, hour, tzinfo=UTC)


def test_a_worker_started_after_the_period_began_counts_from_its_first_snapshot(
    sessions,
) -> None:
    late, blind = Ledger(sessions, "late"), Ledger(sessions, "blind")
    fill(late, "BUY", 10, 100.0, at(15, day=1), 1.0, None)  # held from yesterday
    late.snapshot_equity(net_liquidation=50_000.0, unrealized_pnl=30.0, at=at(10))  # first
    late.snapshot_equity(net_liquidation=50_020.0, unrealized_pnl=50.0, at=at(12))
    fill(blind, "BUY", 5, 10.0, at(11), 0.5, None)  # open, and never a snapshot with a price
    blind.snapshot_equity(net_liquidation=50_020.0, at=at(13))
    found = attribute(sessions, ["late", "blind", "late"], at(0), at(0, day=3))
    late_pnl, blind_pnl = found.strategy("late"), found.strategy("blind")
    assert len(found.strategies) == 2
    assert (late_pnl.unrealized_start, late_pnl.unrealized_end, late_pnl.net_pnl) == (30.0, 50.0,
                                                                                      20.0)  # fmt: skip
    assert blind_pnl.trades == 1 and blind_pnl.commission == 0.5
    assert (blind_pnl.unrealized_start, blind_pnl.unrealized_end) == (0.0, None)
    assert blind_pnl.net_pnl is None
    account = found.account
    assert (account.net_liquidation_start, account.net_liquidation_end) == (50_000.0, 50_020.0)
    assert account.pnl == 20.0 and account.strategies_pnl is None and account.unexplained is None
    assert found.as_dict()["account"]["unexplained"] is None
    with pytest.raises(ValueError, match="aware and ordered"):
        attribute(sessions, ["late"], at(5), at(4))
