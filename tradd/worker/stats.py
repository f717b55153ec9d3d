"""What a worker has done since it started, counted for the supervisor's metrics.

The worker keeps plain counters (orders by status, fills by side, risk decisions by rule
and action, the bar-to-order latency as a histogram) and hands them out in its status
snapshot; the supervisor turns them into Prometheus counters. Counting here instead of
asking the ledger keeps the snapshot cheap (it is polled every second) and makes the
counters what Prometheus expects: cumulative, starting over when the process does.
"""

from __future__ import annotations

import bisect
import time
from collections import Counter
from collections.abc import Callable

from tradd.records.status import Latency, RiskDecisionCount, Stats

LATENCY_BUCKETS: tuple[float, ...] = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
)  # fmt: skip
"""Upper bounds (seconds) of the bar-to-order histogram; +Inf is the total count."""
FINAL_STATUSES: dict[str, str] = {
    "Filled": "filled",
    "Cancelled": "cancelled",
    "ApiCancelled": "cancelled",
    "Inactive": "inactive",
    "Rejected": "rejected",
    "NotSent": "not_sent",
    "Unknown": "unknown",
}
"""Final order statuses (`OrderStatus` values) and the label each is counted under."""
SUBMITTED = "submitted"
KEEP_FINAL = 1_000
"""Orders remembered as counted final: IB repeats a final status (within seconds), it is
counted once. Bounded: a worker that trades for months must not grow with its orders."""


class LatencyHistogram:
    """Cumulative-bucket histogram, as Prometheus exposes one (without the +Inf bucket)."""

    def __init__(self, bounds: tuple[float, ...] = LATENCY_BUCKETS) -> None:
        self.bounds = bounds
        self._counts = [0] * (len(bounds) + 1)
        self.sum = 0.0
        self.count = 0

    def observe(self, seconds: float) -> None:
        seconds = max(seconds, 0.0)
        self._counts[bisect.bisect_left(self.bounds, seconds)] += 1
        self.sum += seconds
        self.count += 1

    def record(self) -> Latency:
        cumulative, buckets = 0, []
        for bound, n in zip(self.bounds, self._counts, strict=False):
            cumulative += n
            buckets.append((bound, cumulative))
        return Latency(buckets=tuple(buckets), sum=self.sum, count=self.count)


class WorkerStats:
    """One worker's counters; every method runs on the worker's main thread."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self.orders: Counter[str] = Counter()
        self.fills: Counter[str] = Counter()
        self.decisions: Counter[tuple[str, str]] = Counter()
        self.latency = LatencyHistogram()
        self._final: dict[str, None] = {}
        self.bar_clock: Callable[[], float | None] = lambda: None
        """When (monotonic) the store last handed completed bars to the strategy, if the
        strategy has not been given a turn without new bars since (set by the worker)."""

    def submitted(self, orders: int, *, after_bar: bool) -> None:
        """Orders just sent to IB; `after_bar`: the strategy's own (not a system order), so
        the time since the bar that woke the strategy is its bar-to-order latency."""
        self.orders[SUBMITTED] += orders
        handed = self.bar_clock() if after_bar else None
        if handed is not None:
            self.latency.observe(self._monotonic() - handed)

    def finished(self, order_ref: str, status: str) -> None:
        """An order reached `status`; counted once per order, and only if final."""
        label = FINAL_STATUSES.get(status)
        if label is None or order_ref in self._final:
            return
        self._final[order_ref] = None
        if len(self._final) > KEEP_FINAL:
            del self._final[next(iter(self._final))]
        self.orders[label] += 1

    def fill(self, side: str) -> None:
        self.fills[side] += 1

    def decision(self, action: str, rule: str | None) -> None:
        """A risk decision as the ledger records it: verdict, and the rules hit (joined)."""
        self.decisions[(rule or "none", action)] += 1

    def record(self) -> Stats:
        """The counters as the status snapshot carries them."""
        return Stats(
            orders=dict(self.orders),
            fills=dict(self.fills),
            risk_decisions=tuple(
                RiskDecisionCount(rule=rule, action=action, count=n)
                for (rule, action), n in sorted(self.decisions.items())
            ),
            latency=self.latency.record(),
        )
