"""The `live_sessions` and `live_bars` tables: what a live strategy ran with and received.

A worker with `[drift] record_bars` writes one session row when it starts (the resolved
parameters, symbols, bar and sizing it runs with) and one bar row for every bar its
strategy read, warm-up and gap-filling history included (`historical`), with the wall
time Backtrader read it (`received_at`, the ledger's clock: an order created after it and
before the next bar was decided on it). `tradd drift` replays the strategy over them.
`models` imports this module at its end; `migrations/versions/r0011_live_bars.py`
creates the tables.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tradd.persistence.schema import Base, UtcDateTime


class LiveSessionRow(Base):
    """One start of a worker: everything a replay needs besides the bars."""

    __tablename__ = "live_sessions"
    __table_args__ = (Index(None, "strategy", "started_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    strategy: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    strategy_path: Mapped[str] = mapped_column(Text)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    symbols: Mapped[list[str]] = mapped_column(JSON)
    bar_seconds: Mapped[int] = mapped_column(Integer)
    position_pct: Mapped[float] = mapped_column(Float)
    commission: Mapped[dict[str, Any]] = mapped_column(JSON)


class LiveBarRow(Base):
    """One bar a live strategy read (OHLCV as Backtrader saw it)."""

    __tablename__ = "live_bars"
    __table_args__ = (Index(None, "strategy", "start"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[int] = mapped_column(Integer, index=True)
    strategy: Mapped[str] = mapped_column(String(64))
    symbol: Mapped[str] = mapped_column(String(32))
    bar_seconds: Mapped[int] = mapped_column(Integer)
    start: Mapped[datetime] = mapped_column(UtcDateTime)
    open: Mapped[float] = mapped_column(Float)
    high: Mapped[float] = mapped_column(Float)
    low: Mapped[float] = mapped_column(Float)
    close: Mapped[float] = mapped_column(Float)
    volume: Mapped[float] = mapped_column(Float)
    historical: Mapped[bool] = mapped_column(Boolean)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
