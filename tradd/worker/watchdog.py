"""Staleness watchdog: notice market data that silently stopped.

After IB's 1101 or a farm outage, real-time bars can simply stop, with no error. Each
symbol's 5-second stream is watched in market time while its market is open: silent for
`stale_after` seconds, it is resubscribed once; still silent after another period, it is
stale, and the worker sends no orders (a strategy trading on frozen prices is worse than
one that pauses) until bars flow again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class FeedHealth(StrEnum):
    OK = "ok"
    RESUBSCRIBED = "resubscribed"
    STALE = "stale"


@dataclass(frozen=True)
class HealthChange:
    symbol: str
    health: FeedHealth
    silent_seconds: float


class StalenessWatchdog:
    def __init__(self, symbols: tuple[str, ...], stale_after: float) -> None:
        self._after = stale_after
        self.health = dict.fromkeys(symbols, FeedHealth.OK)
        self._since: dict[str, datetime] = {}
        """Silence is counted from the later of this and the symbol's newest bar."""

    def reset(self, now: datetime) -> None:
        """A new subscription (connect, 1101): count every symbol's silence from now."""
        self._since = dict.fromkeys(self.health, now)

    def check(
        self,
        now: datetime,
        last_bar: Mapping[str, datetime],
        market_open: Callable[[str, datetime], bool],
    ) -> list[HealthChange]:
        """Compare each symbol's newest 5-second bar with `now`; returns what changed."""
        changes = []
        for symbol, health in self.health.items():
            change = self._check_one(symbol, health, now, last_bar.get(symbol),
                                     market_open(symbol, now))  # fmt: skip
            if change is not None:
                changes.append(change)
        return changes

    def _check_one(
        self, symbol: str, health: FeedHealth, now: datetime, last: datetime | None, open_: bool
    ) -> HealthChange | None:
        since = self._since.setdefault(symbol, now)
        silent = (now - max(since, last or since)).total_seconds()
        if not open_:
            self._since[symbol] = now  # nothing is due; count afresh from the open
            new = FeedHealth.OK
        elif last is not None and last > since and health is not FeedHealth.OK:
            new = FeedHealth.OK  # bars came back after the resubscription
        elif silent < self._after:
            return None
        else:
            self._since[symbol] = now  # resubscribed now: count the next period from here
            if health is FeedHealth.STALE:
                return HealthChange(symbol, FeedHealth.RESUBSCRIBED, silent)  # once more
            new = FeedHealth.RESUBSCRIBED if health is FeedHealth.OK else FeedHealth.STALE
        if new is health:
            return None
        self.health[symbol] = new
        return HealthChange(symbol, new, silent)

    @property
    def stale(self) -> list[str]:
        return [s for s, h in self.health.items() if h is FeedHealth.STALE]
