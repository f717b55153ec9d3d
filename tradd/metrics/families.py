"""The metric families of one scrape, filled from the supervisor's worker views.

Every family is labelled `strategy`. A value the supervisor does not have (a worker that
never answered, an equity IB has not sent yet) is left out, never exported as 0: a 0
equity or a 0 heartbeat age would be a lie a dashboard or an alert would believe. The
worker's own numbers (its status snapshot) are exported only while its process lives:
a dead worker's last snapshot no longer measures anything.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from tradd.ib.circuit import CircuitState
from tradd.ib.events import LinkState
from tradd.metrics.procfs import ProcessStats
from tradd.records.states import ALIVE, WorkerState
from tradd.records.status import Heartbeat, Latency, Stats, WorkerStatus
from tradd.records.view import WorkerView
from tradd.risk import TradingState

ORDER_STATUSES = (
    "submitted", "filled", "cancelled", "inactive", "rejected", "not_sent", "unknown",
)  # fmt: skip
"""Labels of tradd_orders_total (tradd.worker.stats), exported from 0 so rate() works."""
SIDES = ("BUY", "SELL")

GAUGES: dict[str, tuple[str, tuple[str, ...]]] = {
    "tradd_worker_up": ("1 when the worker is RUNNING and has answered a heartbeat.", ()),
    "tradd_worker_state": ("The supervisor's state of the worker (1 for the current).",
                           ("state",)),
    "tradd_worker_heartbeat_age_seconds": ("Seconds since the worker last answered.", ()),
    "tradd_worker_uptime_seconds": ("Seconds since the worker process started.", ()),
    "tradd_worker_resident_memory_bytes": ("Resident memory of the worker process.", ()),
    "tradd_equity": ("Net liquidation value of the account (account currency).", ()),
    "tradd_position": ("Shares held per symbol (negative: short).", ("symbol",)),
    "tradd_realized_pnl": ("Realized P&L of the strategy's book (account currency).", ()),
    "tradd_unrealized_pnl": ("Unrealized P&L at the last prices (account currency).", ()),
    "tradd_daily_pnl": ("Account P&L since the trading day began (account currency).", ()),
    "tradd_drawdown_ratio": ("Drawdown of equity from its peak (0..1).", ()),
    "tradd_working_orders": ("Orders still working at IB.", ()),
    "tradd_connection_state": ("State of the worker's IB link (1 for the current).",
                               ("state",)),
    "tradd_circuit_state": ("State of the IB connection's circuit breaker (1 for the current).",
                            ("state",)),
    "tradd_trading_state": ("The risk gate's trading state (1 for the current).", ("state",)),
    "tradd_last_bar_age_seconds": ("Market seconds since the newest completed bar ended.", ()),
    "tradd_worker_backlog": ("Events and bars waiting for the worker's main loop.", ()),
    "tradd_worker_loop_age_seconds": ("Seconds since the worker's main loop last turned.", ()),
}  # fmt: skip
COUNTERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "tradd_worker_restarts": ("Times the supervisor restarted the worker.", ()),
    "tradd_worker_cpu_seconds": ("CPU time (user and system) of the worker process.", ()),
    "tradd_orders": ("Orders sent to IB (submitted) and finished, by final status.",
                     ("status",)),
    "tradd_fills": ("Executions booked, by side.", ("side",)),
    "tradd_risk_decisions": ("Risk gate decisions, by rules hit and verdict.",
                             ("rule", "action")),
}  # fmt: skip
HISTOGRAMS: dict[str, str] = {
    "tradd_bar_to_order_latency_seconds": (
        "Seconds from a completed bar reaching the strategy to the order it caused being sent."
    ),
}
SNAPSHOT_GAUGES = ("equity", "realized_pnl", "unrealized_pnl", "daily_pnl")
"""Status fields exported as they are, as `tradd_<field>`."""


def number(value: Any) -> float | None:
    """A finite number, or None (missing, NaN, or not a number at all)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


class Families:
    """The families of one scrape; `add` one view after another, then `all`."""

    def __init__(self) -> None:
        self._f: dict[str, Metric] = {}
        for name, (doc, labels) in GAUGES.items():
            self._f[name] = GaugeMetricFamily(name, doc, labels=("strategy", *labels))
        for name, (doc, labels) in COUNTERS.items():
            self._f[name] = CounterMetricFamily(name, doc, labels=("strategy", *labels))
        for name, doc in HISTOGRAMS.items():
            self._f[name] = HistogramMetricFamily(name, doc, labels=("strategy",))

    def all(self) -> list[Metric]:
        return list(self._f.values())

    def _add(self, name: str, labels: Sequence[str], value: Any) -> None:
        """One sample, unless the value is missing."""
        v = number(value)
        if v is not None:
            family = self._f[name]
            assert isinstance(family, GaugeMetricFamily | CounterMetricFamily)
            family.add_metric(list(labels), v)

    def _enum(self, name: str, strategy: str, values: Iterable[str], current: Any) -> None:
        """Enum style: 1 for the current state, 0 for the others (unknown ones too)."""
        if not isinstance(current, str):
            return
        states = list(values)
        if current not in states:
            states.append(current)
        for state in states:
            self._add(name, (strategy, state), 1 if state == current else 0)

    def add(self, view: WorkerView, process: ProcessStats | None = None) -> None:
        s = view.name
        up = view.state == WorkerState.RUNNING and view.heartbeat_age is not None
        self._add("tradd_worker_up", (s,), 1 if up else 0)
        self._enum("tradd_worker_state", s, (str(w) for w in WorkerState), view.state)
        self._add("tradd_worker_restarts", (s,), view.restarts)
        self._add("tradd_worker_heartbeat_age_seconds", (s,), view.heartbeat_age)
        self._add("tradd_worker_uptime_seconds", (s,), view.uptime)
        if process is not None:
            self._add("tradd_worker_resident_memory_bytes", (s,), process.resident_bytes)
            self._add("tradd_worker_cpu_seconds", (s,), process.cpu_seconds)
        if view.snapshot is not None and view.state in ALIVE:
            self._snapshot(s, view.snapshot)

    def _snapshot(self, s: str, status: WorkerStatus) -> None:
        for field in SNAPSHOT_GAUGES:
            self._add(f"tradd_{field}", (s,), getattr(status, field))
        self._add("tradd_last_bar_age_seconds", (s,), status.last_bar_age)
        if isinstance(status, Heartbeat):
            self._add("tradd_worker_backlog", (s,), status.backlog)
            self._add("tradd_worker_loop_age_seconds", (s,), status.loop_age)
        drawdown = status.drawdown_pct
        self._add("tradd_drawdown_ratio", (s,), None if drawdown is None else drawdown / 100)
        self._add("tradd_working_orders", (s,), len(status.working_orders))
        for symbol, p in status.positions.items():
            self._add("tradd_position", (s, symbol), p.quantity)
        self._enum("tradd_connection_state", s, (str(v) for v in LinkState), status.connection)
        self._enum("tradd_circuit_state", s, (str(v) for v in CircuitState), status.circuit)
        self._enum("tradd_trading_state", s, (str(v) for v in TradingState),
                   status.trading_state)  # fmt: skip
        self._stats(s, status.stats)

    def _stats(self, s: str, stats: Stats) -> None:
        """The worker's counters: known labels from 0, then whatever else it counted."""
        orders, fills = stats.orders, stats.fills
        for status in dict.fromkeys([*ORDER_STATUSES, *orders]):
            self._add("tradd_orders", (s, status), orders.get(status, 0))
        for side in dict.fromkeys([*SIDES, *fills]):
            self._add("tradd_fills", (s, side), fills.get(side, 0))
        for d in stats.risk_decisions:
            self._add("tradd_risk_decisions", (s, d.rule, d.action), d.count)
        self._latency(s, stats.latency)

    def _latency(self, s: str, latency: Latency) -> None:
        count, total = number(latency.count), number(latency.sum)
        if count is None or total is None:
            return
        buckets: list[tuple[str, float]] = []
        for bound, n in latency.buckets:
            le = number(bound)
            if le is None:
                return  # a malformed histogram is left out whole, not half exported
            buckets.append((repr(le), float(n)))  # 0.001, 1.0: as prometheus_client writes `le`
        family = self._f["tradd_bar_to_order_latency_seconds"]
        assert isinstance(family, HistogramMetricFamily)
        family.add_metric([s], [*buckets, ("+Inf", count)], total)
