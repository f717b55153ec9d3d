"""The drift results store: latest per strategy, and each alert claimed once."""

from __future__ import annotations

from datetime import UTC, date, datetime

from tradd.persistence.db import open_database
from tradd.persistence.drift_results import DriftResults, NewDriftResult


def result(strategy: str, live: float, replay: float) -> NewDriftResult:
    return NewDriftResult(
        strategy=strategy, run_id=None, period_from=date(2026, 12, 1),
        period_to=date(2026, 12, 4), live_pnl=live, replay_pnl=replay,
        components={"slippage": live - replay}, report_path=None, starting_equity=100_000.0,
    )  # fmt: skip


def test_latest_and_claims(tmp_path):
    _, sessions = open_database(f"sqlite:///{tmp_path / 't.db'}")
    store = DriftResults(sessions, lambda: datetime(2026, 12, 7, tzinfo=UTC))
    store.add(result("a", 100.0, 3000.0))
    second = store.add(result("a", 100.0, 150.0))
    store.add(result("b", -500.0, 2000.0))
    latest = store.latest()
    assert latest["a"].id == second.id and latest["a"].drift_pct == -0.05
    assert latest["b"].drift_pnl == -2500.0
    pending = store.pending_alerts(1.0)
    assert sorted((r.strategy, r.drift_pnl) for r in pending) == [("a", -2900.0), ("b", -2500.0)]
    assert store.pending_alerts(1.0) == pending  # until marked
    assert [store.mark_alerted(r.id) for r in pending] == [True, True]
    assert store.mark_alerted(pending[0].id) is False
    assert store.pending_alerts(1.0) == []
    assert [r.id for r in store.history("a")] == [second.id, second.id - 1]
