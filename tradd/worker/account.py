"""The IB account as the worker sees it, and the equity baselines risk rules measure from.

IB streams account values as tagged strings (`NetLiquidation`, `TotalCashValue`,
`GrossPositionValue`...). The account's P&L today, and the daily loss, are measured from
the day's starting equity: the net liquidation at the previous close (the equity standing
when the new day is first noticed, before any value of the new day is taken in). A worker
that did not see the previous day takes the start another strategy of the account already
recorded for today, so every strategy shows the same account P&L; only the first to start
falls back to the equity at its first sight of the day. Drawdown is measured from the
highest equity seen. Both baselines are persisted (strategy_state) so a restart in the
middle of a bad day does not forgive the loss.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

BASE_CURRENCIES = frozenset({"USD", "BASE", ""})


@dataclass(frozen=True)
class Baselines:
    day: date | None
    day_start_equity: float | None
    equity_peak: float | None


class AccountState:
    def __init__(
        self,
        exchange_tz: str,
        baselines: Baselines,
        shared_start: Callable[[date], float | None] = lambda _day: None,
    ) -> None:
        self._zone = ZoneInfo(exchange_tz)
        self.values: dict[str, float] = {}
        self.baselines = baselines
        self._shared_start = shared_start
        """The account's starting equity of a day, as another strategy recorded it."""
        self._seen_day: date | None = None
        """The trading day this process last saw the equity on."""

    def set_zone(self, exchange_tz: str) -> None:
        """Trading days follow the exchange's calendar date."""
        self._zone = ZoneInfo(exchange_tz)

    def update(self, tag: str, value: str, currency: str) -> bool:
        """Take one account value; True when it is one tradd uses."""
        if currency not in BASE_CURRENCIES:
            return False
        try:
            number = float(value)
        except ValueError:
            return False
        if not math.isfinite(number):
            return False
        self.values[tag] = number
        return tag in ("NetLiquidation", "TotalCashValue", "GrossPositionValue")

    @property
    def net_liquidation(self) -> float:
        return self.values.get("NetLiquidation", math.nan)

    @property
    def cash(self) -> float:
        return self.values.get("TotalCashValue", math.nan)

    @property
    def gross_exposure(self) -> float:
        return self.values.get("GrossPositionValue", 0.0)

    def trading_day(self, now: datetime) -> date:
        """The exchange's calendar date at `now`."""
        return now.astimezone(self._zone).date()

    def observe_equity(self, now: datetime) -> tuple[bool, bool]:
        """Roll the day and raise the peak with the current equity.

        Returns (new_day, changed): whether a new trading day began, and whether the
        baselines changed (and should be persisted)."""
        equity = self.net_liquidation
        if not math.isfinite(equity) or equity <= 0:
            return False, False
        today = self.trading_day(now)
        b = self.baselines
        new_day = b.day != today
        peak = equity if b.equity_peak is None else max(b.equity_peak, equity)
        start = b.day_start_equity
        if new_day:  # watched the previous day to its end: its close; else the account's
            start = equity if self._seen_day is not None else self._shared_start(today)
            start = equity if start is None else start
        self._seen_day = today
        updated = Baselines(today, start, peak)
        changed = updated != b
        self.baselines = updated
        return new_day and b.day is not None, changed

    @property
    def daily_pnl(self) -> float | None:
        start = self.baselines.day_start_equity
        equity = self.net_liquidation
        return None if start is None or not math.isfinite(equity) else equity - start
