"""Reconnect pacing: exponential backoff with jitter, and a circuit breaker.

Both are pure and take an injected clock (and random source), so their timing is tested
exactly. The breaker stops a worker hammering a dead gateway; while it is open the worker
does not trade.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from enum import StrEnum


class Backoff:
    """initial, 2x, 4x ... capped at `maximum`, each randomised by +/- `jitter` (a fraction)."""

    def __init__(
        self, initial: float, maximum: float, jitter: float, rng: random.Random | None = None
    ) -> None:
        self._initial, self._maximum, self._jitter = initial, maximum, jitter
        self._rng = rng or random.Random()
        self._attempt = 0

    def next(self) -> float:
        base = min(self._maximum, self._initial * 2.0**self._attempt)
        self._attempt += 1
        spread = base * self._jitter
        return max(0.0, base + self._rng.uniform(-spread, spread))

    def reset(self) -> None:
        self._attempt = 0


class CircuitState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """closed -> (N consecutive failures) -> open -> (after open_seconds) -> half-open probe;
    the probe's success closes it, its failure opens it again for another period."""

    def __init__(
        self, failure_threshold: int, open_seconds: float, clock: Callable[[], float]
    ) -> None:
        self._threshold, self._open_seconds, self._clock = failure_threshold, open_seconds, clock
        self.state = CircuitState.CLOSED
        self.failures = 0
        self._opened_at = 0.0

    def allow(self) -> bool:
        """May we try to connect now? Moves open -> half-open when the period is over."""
        if self.state is CircuitState.OPEN and self.seconds_until_probe() <= 0:
            self.state = CircuitState.HALF_OPEN
        return self.state is not CircuitState.OPEN

    def seconds_until_probe(self) -> float:
        if self.state is not CircuitState.OPEN:
            return 0.0
        return max(0.0, self._opened_at + self._open_seconds - self._clock())

    def record_success(self) -> None:
        self.state, self.failures = CircuitState.CLOSED, 0

    def record_failure(self) -> bool:
        """Count a failed attempt; True when this failure opened the circuit."""
        self.failures += 1
        if self.state is CircuitState.HALF_OPEN or self.failures >= self._threshold:
            opened = self.state is not CircuitState.OPEN
            self.state, self._opened_at = CircuitState.OPEN, self._clock()
            return opened
        return False
