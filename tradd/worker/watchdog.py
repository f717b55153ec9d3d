"""Staleness watchdog: notice market data that silently stopped.

After IB's 1101 or a farm outage, real-time bars can simply stop, with no error. Each
symbol's 5-second stream is watched in market time while its market is open: silent for
`stale_after` seconds, it is resubscribed once; still silent after another period, it is
stale, and the worker sends no orders (a strategy trading on frozen prices is worse than
one that pauses) until bars flow again.

Silence is counted from the latest of: the symbol's newest bar (when it was taken in, on
the worker's market clock), the last subscription (connect, 1101) and the opening of the
session now under way, so the night before an open never counts as silence. The
simulator skips closed time in one jump; its first bars of a session are due only from
that session's open.

At the simulator's speed market time runs hundreds of times faster than the wall: a
50 ms pause of a busy machine is 30 simulated seconds. So a feed is silent only once it
has also been quiet for `min_wall` seconds of wall time (the worker sets it with the
gateway's clock; on a real gateway market time is wall time and it changes nothing).
"""

from __future__ import annotations

import time
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
    def __init__(
        self,
        symbols: tuple[str, ...],
        stale_after: float,
        *,
        min_wall: float = 0.0,
        wall: Callable[[], float] = time.monotonic,
    ) -> None:
        self._after, self._min_wall, self._wall = stale_after, min_wall, wall
        self.health = dict.fromkeys(symbols, FeedHealth.OK)
        self._since: dict[str, datetime] = {}
        """Silence is counted from the later of this and the symbol's newest bar."""
        self._heard: dict[str, tuple[datetime | None, float]] = {}
        """Per symbol: its newest bar as last checked, and when (wall) it or `_since`
        last changed: the wall-clock side of the silence."""

    def reset(self, now: datetime) -> None:
        """A new subscription (connect, 1101): count every symbol's silence from now."""
        self._since = dict.fromkeys(self.health, now)
        wall = self._wall()
        self._heard = {s: (h[0], wall) for s, h in self._heard.items()}

    def check(
        self,
        now: datetime,
        last_bar: Mapping[str, datetime],
        session_start: Callable[[str, datetime], datetime | None],
    ) -> list[HealthChange]:
        """Compare when each symbol's newest 5-second bar came with `now`; returns what
        changed. `session_start`: when the symbol's session opened, None while closed."""
        changes = []
        for symbol, health in self.health.items():
            change = self._check_one(symbol, health, now, last_bar.get(symbol),
                                     session_start(symbol, now))  # fmt: skip
            if change is not None:
                changes.append(change)
        return changes

    def _check_one(
        self,
        symbol: str,
        health: FeedHealth,
        now: datetime,
        last: datetime | None,
        opened: datetime | None,
    ) -> HealthChange | None:
        since = self._since.setdefault(symbol, now)
        wall = self._wall()
        heard, quiet_since = self._heard.get(symbol, (None, wall))
        if opened is not None and opened > since:
            since = self._since[symbol] = opened  # bars are due from the open, not before
            quiet_since = wall
        if last != heard:
            quiet_since = wall
        self._heard[symbol] = (last, quiet_since)
        silent = (now - max(since, last or since)).total_seconds()
        if opened is None:
            self._since[symbol] = now  # nothing is due; count afresh from the open
            new = FeedHealth.OK
        elif last is not None and last > since and health is not FeedHealth.OK:
            new = FeedHealth.OK  # bars came back after the resubscription
        elif silent < self._after or wall - quiet_since < self._min_wall:
            return None
        else:
            self._since[symbol] = now  # resubscribed now: count the next period from here
            self._heard[symbol] = (last, wall)
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
