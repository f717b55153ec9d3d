"""`DriftResults`: write and read what `tradd drift` found (the `drift_results` table).

The drift command adds a result; the daemon reads the latest per strategy (daily
summary, console) and alerts the unalerted ones above the threshold, marking each only
once its alert is stored in the outbox: a daemon killed in between alerts it again after
its restart rather than never. Records handed out are frozen.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from tradd.persistence.models_drift import DriftResultRow
from tradd.persistence.transactions import read_transaction, write_transaction

DRIFT_CAUSES = ("signal", "slippage", "commissions", "refused", "offline", "other")
"""The causes `components` splits a drift into (each in the account's currency)."""


@dataclass(frozen=True)
class DriftResult:
    id: int
    strategy: str
    run_id: str | None
    computed_at: datetime
    period_from: date
    period_to: date
    live_pnl: float
    replay_pnl: float
    drift_pnl: float
    drift_pct: float
    components: Mapping[str, float]
    report_path: str | None
    alerted_at: datetime | None


@dataclass(frozen=True)
class NewDriftResult:
    strategy: str
    run_id: str | None
    period_from: date
    period_to: date
    live_pnl: float
    replay_pnl: float
    components: Mapping[str, float]
    report_path: str | None
    starting_equity: float
    """The replay's starting equity: `drift_pct` is the drift as a percentage of it."""


class DriftResults:
    def __init__(self, sessions: sessionmaker[Session], clock: Callable[[], datetime]) -> None:
        self._sessions = sessions
        self._clock = clock

    def add(self, new: NewDriftResult) -> DriftResult:
        drift = new.live_pnl - new.replay_pnl
        pct = 100.0 * drift / new.starting_equity if new.starting_equity else 0.0
        row = DriftResultRow(
            strategy=new.strategy, run_id=new.run_id, computed_at=self._clock(),
            period_from=new.period_from, period_to=new.period_to, live_pnl=new.live_pnl,
            replay_pnl=new.replay_pnl, drift_pnl=drift, drift_pct=pct,
            components={k: float(v) for k, v in new.components.items()},
            report_path=new.report_path,
        )  # fmt: skip
        with write_transaction(self._sessions) as session:
            session.add(row)
            session.flush()
            return _record(row)

    def latest(self) -> dict[str, DriftResult]:
        """The newest result of each strategy."""
        newest = (
            select(DriftResultRow.strategy, func.max(DriftResultRow.id).label("id"))
            .group_by(DriftResultRow.strategy)
            .subquery()
        )
        with read_transaction(self._sessions) as session:
            rows = session.scalars(
                select(DriftResultRow).join(newest, DriftResultRow.id == newest.c.id)
            ).all()
            return {row.strategy: _record(row) for row in rows}

    def history(self, strategy: str, limit: int = 30) -> list[DriftResult]:
        with read_transaction(self._sessions) as session:
            rows = session.scalars(
                select(DriftResultRow)
                .where(DriftResultRow.strategy == strategy)
                .order_by(DriftResultRow.id.desc())
                .limit(limit)
            ).all()
            return [_record(row) for row in rows]

    def pending_alerts(self, threshold_pct: float) -> list[DriftResult]:
        """Results beyond `threshold_pct` whose alert is not stored yet, oldest first."""
        with read_transaction(self._sessions) as session:
            rows = session.scalars(
                select(DriftResultRow)
                .where(
                    DriftResultRow.alerted_at.is_(None),
                    func.abs(DriftResultRow.drift_pct) > threshold_pct,
                )
                .order_by(DriftResultRow.id)
            ).all()
            return [_record(row) for row in rows]

    def mark_alerted(self, result_id: int) -> bool:
        """The result's alert is in the outbox: never again. False if it was already."""
        with write_transaction(self._sessions) as session:
            done = session.execute(
                update(DriftResultRow)
                .where(DriftResultRow.id == result_id, DriftResultRow.alerted_at.is_(None))
                .values(alerted_at=self._clock())
            )
            return int(getattr(done, "rowcount", 0) or 0) == 1


def _record(row: DriftResultRow) -> DriftResult:
    return DriftResult(
        id=row.id, strategy=row.strategy, run_id=row.run_id, computed_at=row.computed_at,
        period_from=row.period_from, period_to=row.period_to, live_pnl=row.live_pnl,
        replay_pnl=row.replay_pnl, drift_pnl=row.drift_pnl, drift_pct=row.drift_pct,
        components=dict(row.components), report_path=row.report_path,
        alerted_at=row.alerted_at,
    )  # fmt: skip


def as_dict(result: DriftResult) -> dict[str, Any]:
    return {
        "strategy": result.strategy, "run_id": result.run_id,
        "computed_at": result.computed_at.isoformat(),
        "period_from": result.period_from.isoformat(), "period_to": result.period_to.isoformat(),
        "live_pnl": result.live_pnl, "replay_pnl": result.replay_pnl,
        "drift_pnl": result.drift_pnl, "drift_pct": result.drift_pct,
        "components": dict(result.components), "report_path": result.report_path,
    }  # fmt: skip
