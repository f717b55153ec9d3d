"""The drift alert: a `tradd drift` result beyond `[drift] alert_pct`, alerted once.

`tradd drift` stores its figures in `drift_results`; the supervisor's alert tick turns
each result beyond the threshold not alerted yet into a `drift` alert naming the
strategy, the drift, its largest cause and the report, stores it in the outbox, and only
then marks the result alerted (`DriftResults.mark_alerted`). A failed store leaves it for
the next look; a daemon killed between the two alerts it again after a restart: at least
once, never lost.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from tradd.alerts.model import AlertEvent
from tradd.alerts.summary import period
from tradd.persistence.drift_results import DriftResult, DriftResults, as_dict
from tradd.records.events import EventKind

CHECK_EVERY = 5.0
"""Seconds between two looks for new results (a claim is a write transaction)."""


class DriftWatch:
    """Looks for results to alert at most every CHECK_EVERY seconds."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Callable[[], datetime],
        monotonic: Callable[[], float],
    ) -> None:
        self._results = DriftResults(sessions, clock)
        self._clock, self._monotonic = clock, monotonic
        self._next = float("-inf")

    def due(self) -> bool:
        return self._monotonic() >= self._next

    def pending(self, threshold_pct: float) -> list[tuple[int, AlertEvent]]:
        """(result id, its alert event) of each result to alert (blocking: off the loop)."""
        self._next = self._monotonic() + CHECK_EVERY
        now = self._clock()
        return [
            (r.id, drift_event(r, threshold_pct, now))
            for r in self._results.pending_alerts(threshold_pct)
        ]

    def alerted(self, result_id: int) -> bool:
        return self._results.mark_alerted(result_id)


def largest_cause(result: DriftResult) -> tuple[str, float] | None:
    if not result.components:
        return None
    return max(result.components.items(), key=lambda kv: abs(kv[1]))


def drift_event(result: DriftResult, threshold_pct: float, at: datetime) -> AlertEvent:
    cause = largest_cause(result)
    because = f"; largest cause {cause[0]} {cause[1]:,.2f}" if cause else ""
    report = f"; report {result.report_path}" if result.report_path else ""
    message = (
        f"drift {result.drift_pct:+.2f}% ({result.drift_pnl:,.2f}: live {result.live_pnl:,.2f},"
        f" replay {result.replay_pnl:,.2f}) over {period(result)}, beyond {threshold_pct:g}%"
        f"{because}{report}"
    )
    data = {
        **as_dict(result), "threshold_pct": threshold_pct, "result_id": result.id,
        "largest_cause": cause[0] if cause else None,
    }  # fmt: skip
    data.pop("strategy")
    return AlertEvent(EventKind.DRIFT, "warning", message, at, strategy=result.strategy,
                      data=data, key=str(result.id))  # fmt: skip
