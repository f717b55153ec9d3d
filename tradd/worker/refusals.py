"""The "order refused" log line, without the flood.

A strategy whose orders the trading gate refuses (data stale, not connected, stopping)
asks again on every bar: one warning per bar per symbol buried the logs (thousands of
lines an hour at the simulator's speed). Each distinct reason is logged when it first
appears, then at most once per `every` seconds with the count of refusals in between.
Every refusal is still recorded in the ledger and counted in the worker's stats.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog

log = structlog.get_logger("tradd.worker.orders")
EVERY = 60.0
"""Seconds between two log lines of one refusal reason."""
MAX_REASONS = 64
"""Reasons remembered at once (a reason can name prices or quantities: bounded)."""


@dataclass
class _Seen:
    logged_at: float
    repeated: int = 0


class RefusalLog:
    def __init__(
        self, every: float = EVERY, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._every, self._monotonic = every, monotonic
        self._seen: dict[str, _Seen] = {}

    def refused(self, symbol: str, reason: str) -> bool:
        """Log this refusal unless its reason was logged within `every`; True if logged."""
        now = self._monotonic()
        seen = self._seen.get(reason)
        if seen is not None and now - seen.logged_at < self._every:
            seen.repeated += 1
            return False
        repeated = seen.repeated if seen is not None else 0
        self._seen.pop(reason, None)
        while len(self._seen) >= MAX_REASONS:
            del self._seen[next(iter(self._seen))]  # the oldest logged
        self._seen[reason] = _Seen(now)
        if repeated:
            log.warning("order refused", symbol=symbol, reason=reason, repeated=repeated,
                        repeated_within=self._every)  # fmt: skip
        else:
            log.warning("order refused", symbol=symbol, reason=reason)
        return True
