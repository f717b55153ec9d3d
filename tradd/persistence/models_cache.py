"""The backtest cache table: one finished backtest's result, under the key of its inputs.

Kept apart from `models` (the live trading tables) because only
`tradd.research.cache` reads and writes it. `models` imports this module at its end so
that `Base.metadata` (and with it the schema check in the tests) knows the table; the
revision `migrations/versions/r0007_backtest_cache.py` creates it.

`key` is the hex SHA-256 of everything the result depends on (`tradd.research.cache.key`),
so a row is never updated in place: different inputs make a different key. `result` is
whatever the caller needs to rebuild its output exactly (JSON); the table does not know
its shape, so a new kind of cached backtest (compare, say) needs no migration.
`last_used_at` is what housekeeping expires on: an entry in use stays.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from tradd.persistence.schema import Base, UtcDateTime

KEY_LENGTH = 64
"""A SHA-256 digest in hex."""
KIND_MAX = 32


class BacktestCacheRow(Base):
    """One cached backtest result."""

    __tablename__ = "backtest_cache"
    __table_args__ = (Index(None, "last_used_at"),)

    key: Mapped[str] = mapped_column(String(KEY_LENGTH), primary_key=True)
    kind: Mapped[str] = mapped_column(String(KIND_MAX))
    """What made it (`scan`): for a reader, never part of a lookup (the key says it all)."""
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_used_at: Mapped[datetime] = mapped_column(UtcDateTime)
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
