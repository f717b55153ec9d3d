"""The worker's counters: the histogram's arithmetic, and a real worker feeding them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.simulator import GOOG_OPEN, Live, strategy_entry, worker_settings
from tradd.metrics.families import ORDER_STATUSES
from tradd.simgw.background import BackgroundGateway
from tradd.worker.stats import LATENCY_BUCKETS, LatencyHistogram, WorkerStats


def test_histogram_buckets_are_cumulative_and_inclusive() -> None:
    h = LatencyHistogram((0.01, 0.1, 1.0))
    for seconds in (0.01, 0.05, 0.5, 7.0, -1.0):  # a bound counts in its own bucket
        h.observe(seconds)
    got = h.record()
    assert got.buckets == ((0.01, 2), (0.1, 3), (1.0, 4))  # 7.0 only in +Inf (= count)
    assert got.count == 5 and got.sum == pytest.approx(7.56)  # -1 clamped to 0


def test_latency_only_for_strategy_orders_after_a_bar() -> None:
    now = [10.0]
    stats = WorkerStats(lambda: now[0])
    stats.submitted(1, after_bar=True)  # no bar handed yet: nothing to measure
    handed: list[float | None] = [9.9]
    stats.bar_clock = lambda: handed[0]
    stats.submitted(1, after_bar=False)  # a flatten or risk close
    stats.submitted(2, after_bar=True)
    handed[0] = None  # the strategy has had a turn without new bars since
    stats.submitted(1, after_bar=True)
    latency = stats.record().latency
    assert latency.count == 1 and latency.sum == pytest.approx(0.1)
    assert stats.record().orders == {"submitted": 5}
    assert [b for b, _ in latency.buckets] == list(LATENCY_BUCKETS)


def test_final_statuses_count_once_per_order() -> None:
    stats = WorkerStats()
    for ref, status in [("a", "Rejected"), ("a", "Cancelled"), ("b", "ApiCancelled"),
                        ("c", "PreSubmitted"), ("c", "Inactive"), ("d", "NotSent"),
                        ("e", "Unknown"), ("e", "Unknown")]:  # fmt: skip
        stats.finished(ref, status)
    assert stats.record().orders == {
        "rejected": 1, "cancelled": 1, "inactive": 1, "not_sent": 1, "unknown": 1,
    }  # fmt: skip
    assert set(stats.record().orders) <= set(ORDER_STATUSES)  # each exported from 0


def test_a_worker_counts_what_it_did(
    tmp_path: Path, simulator: BackgroundGateway, start_worker: Callable[..., Live]
) -> None:
    """One order filled, a second one in the same bar blocked by the order rate: the
    status snapshot counts the sent and the filled order, the fill, both decisions and
    one bar-to-order latency (a refused order is never sent, so it has none)."""
    entry = strategy_entry(params={"script": "1:BUY:10;1:BUY:10"})
    risk = {"max_orders_per_minute": {"limit": 1, "action": "BLOCK"}}
    settings = worker_settings(tmp_path, simulator.port, f"sqlite:///{tmp_path / 't.db'}",
                               [entry], risk=risk)  # fmt: skip
    live = start_worker(settings, simulator).ready()
    live.advance(max(GOOG_OPEN - simulator.gw.sim_time, 0))
    before: dict[str, Any] = live.worker.command("status")
    assert before["stats"]["orders"] == {} and before["stats"]["latency"]["count"] == 0
    live.advance(60)  # the first live bar: the strategy buys, twice
    status = live.wait_until(
        lambda: (s := live.worker.command("status"))["stats"]["fills"] and s, what="filled"
    )
    stats = status["stats"]
    assert stats["orders"] == {"submitted": 1, "filled": 1}
    assert stats["fills"] == {"BUY": 1}
    assert sorted(stats["risk_decisions"], key=lambda d: d["action"]) == [
        {"rule": "none", "action": "APPROVED", "count": 1},
        {"rule": "MAX_ORDERS_PER_MINUTE", "action": "BLOCKED", "count": 1},
    ]
    latency = stats["latency"]
    assert latency["count"] == 1 and 0 < latency["sum"] < LATENCY_BUCKETS[-1]
    assert latency["buckets"][-1] == [LATENCY_BUCKETS[-1], 1]
    assert status["last_bar_age"] is not None and 0 <= status["last_bar_age"] < 60
    assert before["last_bar_age"] is not None  # the warm-up history's bars count too
    assert live.stop() == 0
