"""The `drift_results` table: what each `tradd drift` found for a live strategy.

`tradd drift` replays a live strategy over the bars it received and stores its figures
here; the daemon reads the latest per strategy for the daily summary, the drift alert
and the console. `alerted_at` is set once the alert for a result went out, so a restart
never alerts twice. `models` imports this module at its end; the revision
`migrations/versions/r0009_drift_results.py` creates the table.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tradd.persistence.schema import Base, UtcDateTime

STRATEGY_MAX = 24
RUN_ID_MAX = 64


class DriftResultRow(Base):
    """One drift report's figures for one strategy and period."""

    __tablename__ = "drift_results"
    __table_args__ = (Index(None, "strategy", "computed_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    strategy: Mapped[str] = mapped_column(String(STRATEGY_MAX))
    run_id: Mapped[str | None] = mapped_column(String(RUN_ID_MAX), nullable=True)
    computed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    period_from: Mapped[date] = mapped_column(Date)
    period_to: Mapped[date] = mapped_column(Date)
    live_pnl: Mapped[float] = mapped_column(Float)
    replay_pnl: Mapped[float] = mapped_column(Float)
    drift_pnl: Mapped[float] = mapped_column(Float)
    """live minus replay, in the account's currency."""
    drift_pct: Mapped[float] = mapped_column(Float)
    """`drift_pnl` as a percentage of the replay's starting equity."""
    components: Mapped[dict[str, Any]] = mapped_column(JSON)
    """`drift_pnl` split by cause: signal, slippage, commissions, refused, offline, other."""
    report_path: Mapped[str | None] = mapped_column(Text, nullable=True)
    alerted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
