"""When IB's trading day began, on the ledger's clock: the window IB's views cover.

IB lists only today's orders and executions (reqCompletedOrders, reqExecutions; the
simulator does the same). So an open order IB does not list proves nothing unless it was
placed after the day began. The first sight of each trading day is recorded in the
ledger (a connection event `ib_day`), once for all of the strategy's processes, so a
restarted worker knows which of its predecessor's orders IB's views still cover.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

from tradd.persistence.ledger import Ledger

KIND = "ib_day"


class IBDay:
    def __init__(self, ledger: Ledger, day_of: Callable[[datetime], date]) -> None:
        self._ledger, self._day_of = ledger, day_of
        self._known: tuple[date, datetime] | None = None

    def began(self, now: datetime) -> datetime:
        """When the trading day of `now` was first seen (recorded now if it is new).

        A day noticed late makes the window shorter, never longer: orders placed before
        the note are judged `Unknown`, not `NotSent` (the safe side)."""
        day = self._day_of(now)
        if self._known is not None and self._known[0] == day:
            return self._known[1]
        at = self._ledger.first_connection_event(KIND, day.isoformat())
        if at is None:
            self._ledger.record_connection_event(KIND, day.isoformat())
            at = self._ledger.first_connection_event(KIND, day.isoformat())
            assert at is not None
        self._known = (day, at)
        return at
