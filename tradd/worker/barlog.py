"""Keep the bars the strategy read, for `tradd drift` (`[drift] record_bars`).

The feed calls `received` as Backtrader reads each bar: that only appends to a list
(no I/O), so the bar->order path is untouched. The list is written in one INSERT at
each housekeeping round (`[worker] snapshot_interval`, after the orders of the bars in
it were committed and sent) and when the worker stops. A worker killed in between loses
at most that interval's bars: the drift report shows them as time offline.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import structlog

from tradd.config.live import LIVE_BAR_SECONDS, StrategySettings
from tradd.errors import TemporaryError
from tradd.ib.types import Bar
from tradd.persistence.live_bars import LiveBar, LiveBars, LiveSession

log = structlog.get_logger("tradd.worker.barlog")
MAX_PENDING = 100_000
"""Bars kept while the database is unreachable (about 20 MB); the oldest go first."""


class BarLog:
    def __init__(
        self, store: LiveBars, strategy: str, session_id: int, clock: Callable[[], datetime]
    ) -> None:
        self._store, self._strategy, self._session = store, strategy, session_id
        self._clock = clock
        self._pending: list[LiveBar] = []

    @classmethod
    def open(
        cls,
        store: LiveBars,
        config: StrategySettings,
        params: Mapping[str, Any],
        commission: Mapping[str, float],
        clock: Callable[[], datetime],
    ) -> BarLog:
        """Write the session row (what this run trades with: resolved parameters,
        symbols, bar, sizing, commission) and return the log its bars go to."""
        session = LiveSession(
            config.name, clock(), config.strategy, params, tuple(config.symbols),
            LIVE_BAR_SECONDS[config.bar], config.position_pct, commission,
        )  # fmt: skip
        return cls(store, config.name, store.start_session(session), clock)

    def received(self, bar: Bar, historical: bool) -> None:
        """A bar Backtrader just read (the ledger's clock stamps it: orders made on it
        are created after it and before the next)."""
        self._pending.append(
            LiveBar(
                self._session,
                self._strategy,
                bar.symbol,
                bar.seconds,
                bar.start,
                bar.open,
                bar.high,
                bar.low,
                bar.close,
                bar.volume,
                historical,
                self._clock(),
            )
        )

    def flush(self) -> None:
        """Write what is pending; on a database error keep it for the next round. Any
        other failure drops the batch with an error logged: recording serves the drift
        report and must never stop a worker that trades."""
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        try:
            self._store.add(batch)
        except TemporaryError as exc:
            log.warning("live bars not recorded yet", error=str(exc), bars=len(batch))
            self._pending = batch[-MAX_PENDING:]
        except Exception:
            log.exception("live bars not recorded", bars=len(batch))
