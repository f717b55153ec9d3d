"""`LiveBars`: the sessions and bars live workers record, and what `tradd drift` reads.

The worker writes a session when it starts and its bars in batches (see
`tradd/worker/barlog.py`); the drift command reads them back for a period. Records
handed out are frozen.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from tradd.persistence.models_live import LiveBarRow, LiveSessionRow
from tradd.persistence.transactions import read_transaction, write_transaction


@dataclass(frozen=True)
class LiveSession:
    """What a worker ran with (id 0 until stored)."""

    strategy: str
    started_at: datetime
    strategy_path: str
    params: Mapping[str, Any]
    symbols: tuple[str, ...]
    bar_seconds: int
    position_pct: float
    commission: Mapping[str, float]
    id: int = 0


@dataclass(frozen=True)
class LiveBar:
    """One bar a live strategy read; `start` is aware UTC."""

    session_id: int
    strategy: str
    symbol: str
    bar_seconds: int
    start: datetime
    open: float
    high: float
    low: float
    close: float
    volume: float
    historical: bool
    received_at: datetime


_BAR_FIELDS = tuple(LiveBar.__dataclass_fields__)


class LiveBars:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def start_session(self, session: LiveSession) -> int:
        row = LiveSessionRow(
            strategy=session.strategy, started_at=session.started_at,
            strategy_path=session.strategy_path, params=dict(session.params),
            symbols=list(session.symbols), bar_seconds=session.bar_seconds,
            position_pct=session.position_pct, commission=dict(session.commission),
        )  # fmt: skip
        with write_transaction(self._sessions) as db:
            db.add(row)
            db.flush()
            return row.id

    def add(self, bars: Iterable[LiveBar]) -> int:
        """Store a batch in one transaction (one INSERT); returns how many."""
        values = [{name: getattr(bar, name) for name in _BAR_FIELDS} for bar in bars]
        if values:
            with write_transaction(self._sessions) as db:
                db.execute(insert(LiveBarRow), values)
        return len(values)

    def sessions(self, strategy: str) -> list[LiveSession]:
        with read_transaction(self._sessions) as db:
            rows = db.scalars(
                select(LiveSessionRow)
                .where(LiveSessionRow.strategy == strategy)
                .order_by(LiveSessionRow.id)
            ).all()
            return [_session(row) for row in rows]

    def newest(self, strategy: str) -> datetime | None:
        """The start of the newest bar recorded for the strategy."""
        with read_transaction(self._sessions) as db:
            return db.scalar(
                select(func.max(LiveBarRow.start)).where(LiveBarRow.strategy == strategy)
            )

    def session_ids(self, strategy: str, start: datetime, end: datetime) -> list[int]:
        """The sessions that read a bar starting in [start, end)."""
        with read_transaction(self._sessions) as db:
            ids = db.scalars(
                select(LiveBarRow.session_id)
                .where(
                    LiveBarRow.strategy == strategy,
                    LiveBarRow.start >= start,
                    LiveBarRow.start < end,
                )
                .distinct()
            ).all()
            return sorted(ids)

    def session_bars(self, session_ids: Iterable[int], end: datetime) -> list[LiveBar]:
        """Every bar these sessions read (warm-up included) starting before `end`."""
        with read_transaction(self._sessions) as db:
            rows = db.scalars(
                select(LiveBarRow)
                .where(LiveBarRow.session_id.in_(list(session_ids)), LiveBarRow.start < end)
                .order_by(LiveBarRow.id)
            ).all()
            return [LiveBar(**{name: getattr(row, name) for name in _BAR_FIELDS}) for row in rows]

    def bars(self, strategy: str, start: datetime, end: datetime) -> list[LiveBar]:
        """The strategy's bars starting in [start, end), in the order they were read."""
        with read_transaction(self._sessions) as db:
            rows = db.scalars(
                select(LiveBarRow)
                .where(
                    LiveBarRow.strategy == strategy,
                    LiveBarRow.start >= start,
                    LiveBarRow.start < end,
                )
                .order_by(LiveBarRow.id)
            ).all()
            return [LiveBar(**{name: getattr(row, name) for name in _BAR_FIELDS}) for row in rows]


def _session(row: LiveSessionRow) -> LiveSession:
    return LiveSession(
        strategy=row.strategy, started_at=row.started_at, strategy_path=row.strategy_path,
        params=dict(row.params), symbols=tuple(row.symbols), bar_seconds=row.bar_seconds,
        position_pct=row.position_pct, commission=dict(row.commission), id=row.id,
    )  # fmt: skip
