"""/metrics served for real over loopback, from synthetic supervisor views."""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from tests.metrics.conftest import names, run_promtool, samples, value
from tests.records import samples as records
from tradd.config.daemon import MetricsSettings
from tradd.metrics.collector import SupervisorMetrics
from tradd.metrics.server import MetricsServer
from tradd.records.base import wire
from tradd.records.status import parse_status
from tradd.records.view import WorkerView
from tradd.worker.stats import WorkerStats


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def worker_stats() -> dict[str, Any]:
    """Counters as a worker counts them, through JSON as the channel carries them."""
    clock = Clock()
    stats = WorkerStats(clock)
    stats.bar_clock = lambda: 100.0
    clock.now = 100.004  # bar to order: 4 ms
    stats.submitted(3, after_bar=True)  # a bracket: three orders, one latency
    stats.submitted(1, after_bar=False)  # a system order: no latency
    stats.finished("s1-1", "Filled")
    stats.finished("s1-1", "Filled")  # IB repeats itself: counted once
    stats.finished("s1-2", "Cancelled")
    stats.finished("s1-3", "Submitted")  # not final: not counted
    stats.fill("BUY")
    stats.decision("APPROVED", None)
    stats.decision("BLOCKED", "MAX_ORDERS_PER_MINUTE")
    stats.decision("BLOCKED", "MAX_ORDERS_PER_MINUTE")
    return dict(json.loads(json.dumps(wire(stats.record()))))


def running_snapshot() -> dict[str, Any]:
    """A heartbeat on the wire."""
    positions = {
        "GOOG": {"quantity": 10.0, "avg_price": 430.0, "last": 431.5, "realized_pnl": 0.0},
        "ORCL": {"quantity": -5.0, "avg_price": 12.0, "last": None, "realized_pnl": 1.0},
    }
    return records.status_data(
        strategy="alpha", uptime=42.0, connection="connected", circuit="closed",
        trading_state="REDUCING", ready=True, positions=positions, equity=100250.5,
        daily_pnl=-120.25, drawdown_pct=1.5, realized_pnl=33.0, unrealized_pnl=None,
        commission=2.0, last_bar="2006-01-10T14:31:00+00:00", last_bar_age=7.5,
        working_orders=["alpha-4"], stats=worker_stats(), loop_turns=812, loop_age=0.125,
        backlog=37,
    )  # fmt: skip


VIEWS = (
    WorkerView("alpha", "RUNNING", os.getpid(), 2, 42.5, 0.25,
               snapshot=parse_status(running_snapshot())),
    WorkerView("beta", "BACKOFF", None, 1, None, None, exit_code=1, reason="crashed"),
    WorkerView("gamma", "FATAL", None, 5, None, 30.0, exit_code=1, reason="crash loop",
               snapshot=records.status(equity=5.0, connection="connected")),  # a dead worker's last
)  # fmt: skip


@pytest.fixture
def served() -> Iterator[tuple[MetricsServer, list[Sequence[WorkerView]]]]:
    """A real server on a free loopback port over a views list the test can change."""
    current: list[Sequence[WorkerView]] = [VIEWS]
    metrics = SupervisorMetrics(lambda: current[0])
    server = MetricsServer(MetricsSettings(host="127.0.0.1", port=0), metrics.registry)
    server.start()
    try:
        yield server, current
    finally:
        server.stop()


def scrape(server: MetricsServer) -> str:
    with urllib.request.urlopen(server.url, timeout=10) as reply:
        assert reply.status == 200
        return str(reply.read().decode())


def test_exposition_values_and_lint(served: Any, promtool: str) -> None:
    server, _ = served
    assert server.port > 0 and server.url == f"http://127.0.0.1:{server.port}/metrics"
    text = scrape(server)
    assert run_promtool(promtool, "check", "metrics", stdin=text).strip() == ""
    m = samples(text)
    assert value(m, "tradd_worker_up", strategy="alpha") == 1
    assert value(m, "tradd_worker_up", strategy="beta") == 0
    assert value(m, "tradd_worker_up", strategy="gamma") == 0
    assert value(m, "tradd_worker_state", strategy="beta", state="BACKOFF") == 1
    beta = {k: v for (n, labels), v in m.items() if n == "tradd_worker_state"
            for k in [dict(labels)["state"]] if dict(labels)["strategy"] == "beta"}  # fmt: skip
    assert sorted(beta) == sorted(["STOPPED", "STARTING", "RUNNING", "BACKOFF", "STOPPING",
                                   "EXITED", "FATAL"]) and sum(beta.values()) == 1  # fmt: skip
    assert value(m, "tradd_worker_restarts_total", strategy="gamma") == 5
    assert value(m, "tradd_worker_heartbeat_age_seconds", strategy="alpha") == 0.25
    assert value(m, "tradd_worker_uptime_seconds", strategy="alpha") == 42.5
    assert value(m, "tradd_equity", strategy="alpha") == 100250.5
    assert value(m, "tradd_daily_pnl", strategy="alpha") == -120.25
    assert value(m, "tradd_realized_pnl", strategy="alpha") == 33.0
    assert value(m, "tradd_drawdown_ratio", strategy="alpha") == pytest.approx(0.015)
    assert value(m, "tradd_position", strategy="alpha", symbol="ORCL") == -5
    assert value(m, "tradd_working_orders", strategy="alpha") == 1
    assert value(m, "tradd_last_bar_age_seconds", strategy="alpha") == 7.5
    assert value(m, "tradd_worker_backlog", strategy="alpha") == 37
    assert value(m, "tradd_worker_loop_age_seconds", strategy="alpha") == 0.125
    assert value(m, "tradd_connection_state", strategy="alpha", state="connected") == 1
    assert value(m, "tradd_connection_state", strategy="alpha", state="circuit_open") == 0
    assert value(m, "tradd_circuit_state", strategy="alpha", state="closed") == 1
    assert value(m, "tradd_trading_state", strategy="alpha", state="REDUCING") == 1
    assert value(m, "tradd_trading_state", strategy="alpha", state="ACTIVE") == 0
    assert value(m, "process_resident_memory_bytes") is not None  # the supervisor's own
    assert (value(m, "tradd_worker_resident_memory_bytes", strategy="alpha") or 0) > 0
    assert (value(m, "tradd_worker_cpu_seconds_total", strategy="alpha") or 0) > 0


def test_worker_counters_and_latency(served: Any) -> None:
    m = samples(scrape(served[0]))
    orders = {"submitted": 4, "filled": 1, "cancelled": 1, "rejected": 0, "not_sent": 0,
              "unknown": 0}  # fmt: skip
    for status, n in orders.items():
        assert value(m, "tradd_orders_total", strategy="alpha", status=status) == n, status
    assert value(m, "tradd_fills_total", strategy="alpha", side="BUY") == 1
    assert value(m, "tradd_fills_total", strategy="alpha", side="SELL") == 0
    rd = "tradd_risk_decisions_total"
    assert value(m, rd, strategy="alpha", rule="none", action="APPROVED") == 1
    assert value(m, rd, strategy="alpha", rule="MAX_ORDERS_PER_MINUTE", action="BLOCKED") == 2
    h = "tradd_bar_to_order_latency_seconds"
    assert value(m, f"{h}_bucket", strategy="alpha", le="0.0025") == 0
    assert value(m, f"{h}_bucket", strategy="alpha", le="0.005") == 1
    assert value(m, f"{h}_bucket", strategy="alpha", le="+Inf") == 1
    assert value(m, f"{h}_count", strategy="alpha") == 1
    assert value(m, f"{h}_sum", strategy="alpha") == pytest.approx(0.004)


def test_missing_values_are_left_out_never_zero(served: Any) -> None:
    m = samples(scrape(served[0]))
    assert value(m, "tradd_unrealized_pnl", strategy="alpha") is None  # worker: None
    for name in ("tradd_worker_heartbeat_age_seconds", "tradd_worker_uptime_seconds",
                 "tradd_equity", "tradd_orders_total", "tradd_connection_state"):  # fmt: skip
        assert not [labels for n, labels in m if n == name and ("strategy", "beta") in labels]
    dead = [n for n, labels in m if ("strategy", "gamma") in labels]
    assert "tradd_equity" not in dead and "tradd_connection_state" not in dead
    assert value(m, "tradd_worker_heartbeat_age_seconds", strategy="gamma") == 30.0


def test_each_scrape_reads_the_views_afresh(served: Any) -> None:
    server, current = served
    current[0] = [WorkerView("delta", "STARTING", None, 0, None, None)]
    m = samples(scrape(server))
    assert value(m, "tradd_worker_state", strategy="delta", state="STARTING") == 1
    assert "alpha" not in {dict(labels).get("strategy") for _, labels in m}
    assert "tradd_worker_up" in names(m)
