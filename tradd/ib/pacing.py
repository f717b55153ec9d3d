"""Keep historical-data requests inside IB's pacing rules, and back off when IB objects anyway.

IB answers a request that breaks its "Historical Data Limitations" with error 162 and no
data, and repeated violations can get the session's historical data throttled for minutes.
The rules (IB's wording in brackets):

- no identical request within 15 seconds ["making identical historical data requests within
  15 seconds"];
- at most five requests for the same contract, exchange and tick type within two seconds
  ["making six or more historical data requests for the same Contract, Exchange and Tick
  Type within two seconds"];
- at most sixty requests in any ten-minute window ["making more than 60 requests within
  any ten minute period"].

`HistoryPacer.acquire` waits (through the injected `sleep`) until a request would break none
of them, with a small safety margin because IB measures on its own clock, after the request
has crossed the network. `HistoryPacer.send` adds the reaction to a 162 that comes anyway
(another client on the same account shares the limits): exponential backoff, then a
`TemporaryError` naming the request. The clock and the sleep are injected so tests run in
no time and can assert every wait.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import NamedTuple, TypeVar

import structlog

from tradd.errors import TemporaryError

R = TypeVar("R")


@dataclass(frozen=True)
class PacingRules:
    """IB's limits; `margin` is added to every wait to absorb clock skew and latency."""

    identical_seconds: float = 15.0
    burst_seconds: float = 2.0
    burst_limit: int = 5
    """Requests allowed for one contract + exchange + tick type within `burst_seconds`."""
    window_seconds: float = 600.0
    window_limit: int = 60
    """Requests allowed within any `window_seconds`."""
    margin: float = 0.5

    def __post_init__(self) -> None:
        for name in ("identical_seconds", "burst_seconds", "window_seconds", "margin"):
            if getattr(self, name) < 0:
                raise ValueError(f"pacing {name}: must be >= 0, got {getattr(self, name)}")
        for name in ("burst_limit", "window_limit"):
            if getattr(self, name) < 1:
                raise ValueError(f"pacing {name}: must be >= 1, got {getattr(self, name)}")


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff after a 162 pacing violation: first_delay, x factor each retry, up to max_delay."""

    first_delay: float = 10.0
    factor: float = 2.0
    max_delay: float = 120.0
    max_retries: int = 5

    def __post_init__(self) -> None:
        if self.first_delay < 0 or self.max_delay < 0:
            raise ValueError(f"retry delays must be >= 0, got {self.first_delay}, {self.max_delay}")
        if self.factor < 1:
            raise ValueError(f"retry factor: must be >= 1, got {self.factor}")
        if self.max_retries < 0:
            raise ValueError(f"retry max_retries: must be >= 0, got {self.max_retries}")

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number `retry` (1-based)."""
        return float(min(self.first_delay * self.factor ** (retry - 1), self.max_delay))


class Wait(NamedTuple):
    seconds: float
    rule: str
    """Which rule binds: "identical", "burst", "window" or "" when no wait is needed."""


class HistoryPacer:
    """Remembers the requests sent in the last window and delays the next one if needed.

    `request` identifies a request completely (two equal ones are "identical"); `contract`
    is the contract + exchange + tick type the burst rule counts per. Not thread-safe: one
    downloader drives it.
    """

    def __init__(
        self,
        rules: PacingRules | None = None,
        retry: RetryPolicy | None = None,
        *,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
    ) -> None:
        self.rules = rules or PacingRules()
        self.retry = retry or RetryPolicy()
        self._clock, self._sleep = clock, sleep
        self._sent: deque[tuple[float, Hashable, Hashable]] = deque()
        self._log = structlog.get_logger("tradd.ib.pacing")

    def wait_needed(self, request: Hashable, contract: Hashable) -> Wait:
        """How long `request` must wait from now to break no rule (0 if it may go now)."""
        now = self._clock()
        self._forget_before(now - max(self.rules.window_seconds, self.rules.identical_seconds))
        r = self.rules
        identical = [t for t, req, _ in self._sent if req == request]
        same_contract = [t for t, _, con in self._sent if con == contract]
        waits = [
            Wait(identical[-1] + r.identical_seconds - now if identical else 0.0, "identical"),
            Wait(_until_room(same_contract, now, r.burst_seconds, r.burst_limit), "burst"),
            Wait(_until_room([t for t, _, _ in self._sent], now, r.window_seconds,
                             r.window_limit), "window"),
        ]  # fmt: skip
        longest = max(waits, key=lambda w: w.seconds)
        if longest.seconds <= 0:
            return Wait(0.0, "")
        return Wait(longest.seconds + r.margin, longest.rule)

    def acquire(self, request: Hashable, contract: Hashable, what: str = "") -> float:
        """Sleep until `request` may be sent, record it as sent; returns the seconds waited."""
        waited = 0.0
        while (wait := self.wait_needed(request, contract)).seconds > 0:
            self._log.info("pacing.wait", seconds=round(wait.seconds, 3), rule=wait.rule,
                           request=what or str(request))  # fmt: skip
            self._sleep(wait.seconds)
            waited += wait.seconds
        self._sent.append((self._clock(), request, contract))
        return waited

    def send(
        self,
        request: Hashable,
        contract: Hashable,
        attempt: Callable[[], R],
        violated: Callable[[R], bool],
        what: str,
    ) -> R:
        """Paced `attempt()`; retried with backoff while `violated(result)` (IB said 162).

        Raises TemporaryError naming `what` after `retry.max_retries` retries.
        """
        policy = self.retry
        for retry in range(policy.max_retries + 1):
            if retry:
                delay = policy.delay(retry)
                self._log.warning("pacing.retry", request=what, retry=retry,
                                  of=policy.max_retries, seconds=delay)  # fmt: skip
                self._sleep(delay)
            self.acquire(request, contract, what)
            result = attempt()
            if not violated(result):
                return result
            self._log.warning("pacing.violation", request=what, attempt=retry + 1)
        self._log.error("pacing.gave_up", request=what, attempts=policy.max_retries + 1)
        raise TemporaryError(
            f"{what}: IB answered 162 (pacing violation) {policy.max_retries + 1} times, "
            f"backing off up to {policy.delay(policy.max_retries):g} s; giving up, try later"
        )

    def _forget_before(self, horizon: float) -> None:
        while self._sent and self._sent[0][0] <= horizon:
            self._sent.popleft()


def _until_room(times: list[float], now: float, window: float, limit: int) -> float:
    """Seconds until fewer than `limit` of `times` lie within the last `window` seconds."""
    recent = [t for t in times if now - t < window]
    if len(recent) < limit:
        return 0.0
    return recent[len(recent) - limit] + window - now
