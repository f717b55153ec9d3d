"""IB's historical-data pacing rules, enforced on real (wall-clock) time.

From IB's "Historical Data Limitations": a violation is
- an identical request within 15 seconds,
- six or more requests for the same contract, exchange and tick type within two seconds,
- more than sixty requests within any ten-minute period.
A violating request is answered with error 162 and no data, as TWS does.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Hashable

IDENTICAL_WINDOW = 15.0
BURST_WINDOW, BURST_LIMIT = 2.0, 6
TEN_MINUTES, TEN_MINUTE_LIMIT = 600.0, 60
VIOLATION = "Historical Market Data Service error message:Historical data request pacing violation"


class Pacing:
    def __init__(
        self, enabled: bool = True, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.enabled = enabled
        self._monotonic = monotonic
        self._recent: deque[tuple[float, Hashable, Hashable]] = deque()
        self.forced = 0

    def check(self, request: Hashable, contract: Hashable) -> str | None:
        """Record a request; returns the violation message, or None if it may proceed."""
        now = self._monotonic()
        while self._recent and now - self._recent[0][0] > TEN_MINUTES:
            self._recent.popleft()
        if self.forced > 0:
            self.forced -= 1
            return VIOLATION
        if not self.enabled:
            return None
        violation = self._violation(now, request, contract)
        if violation is None:
            self._recent.append((now, request, contract))
        return violation

    def _violation(self, now: float, request: Hashable, contract: Hashable) -> str | None:
        if len(self._recent) >= TEN_MINUTE_LIMIT:
            return VIOLATION
        burst = 0
        for when, req, con in self._recent:
            if req == request and now - when < IDENTICAL_WINDOW:
                return VIOLATION
            if con == contract and now - when < BURST_WINDOW:
                burst += 1
        return VIOLATION if burst + 1 >= BURST_LIMIT else None
