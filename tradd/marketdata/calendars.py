"""Trading calendars for research: which sessions a market has, and how many a year.

Session dates come from `exchange_calendars` (holidays, closures and half days kept by
its maintainers for 50+ exchanges); each symbol's calendar is named in its contract
definition (``calendar = "XNYS"`` in ``<data dir>/contracts.toml``) or defaults by
security type and exchange: US stocks XNYS, forex 24/5, crypto 24/7, a future on its
exchange's calendar. ``calendar = "contract"`` uses the definition's own weekdays and
holidays, which is what the simulator trades.

Periods a year (the annualisation factor of daily Sharpe, Sortino and volatility) are the
calendar's average sessions a year over 2000-2019, rounded: 252 for XNYS, 365 for 24/7.
A definition's ``periods_per_year`` overrides it.

A session's date: timestamps are naive exchange-local; a market whose session opens in
the evening (forex at 17:15 New York) dates that evening's bars to the next day, the day
the session closes. `session_shift` is the offset that does this with one addition.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from tradd.marketdata.calendar_names import CONTRACT, check_known

if TYPE_CHECKING:
    from tradd.marketdata.contracts import ContractSpec

REFERENCE_YEARS = (2000, 2019)
REFERENCE_PERIODS = {"XNYS": 252, "XNAS": 252, "XEUR": 254, "XETR": 254, "XLON": 253,
                     "CMES": 258, "24/5": 261, "24/7": 365}  # fmt: skip
"""`reference_periods` of the common calendars, precomputed (a test checks each); others
are computed on first use."""
DEFAULT_BY_SEC_TYPE = {"STK": "XNYS", "IND": "XNYS", "CFD": "XNYS", "CASH": "24/5",
                       "CRYPTO": "24/7"}  # fmt: skip
DEFAULT_BY_EXCHANGE = {"EUREX": "XEUR", "IBIS": "XETR", "LSE": "XLON", "CME": "CMES",
                       "GLOBEX": "CMES", "CBOT": "CMES", "NYMEX": "CMES", "COMEX": "CMES",
                       "SEHK": "XHKG", "TSEJ": "XTKS", "PAXOS": "24/7"}  # fmt: skip


@dataclass(frozen=True)
class TradingCalendar:
    """One symbol's market calendar as research uses it."""

    name: str
    periods_per_year: float
    session_shift_s: int
    spec: ContractSpec

    def session_dates(self, first: date, last: date) -> list[date]:
        """Every session date from `first` to `last` inclusive, holidays left out."""
        if self.name == CONTRACT:
            days = (first + timedelta(days=i) for i in range((last - first).days + 1))
            return [d for d in days if self.spec.trades_on(d)]
        calendar = _exchange_calendar(self.name, first, last)
        sessions = calendar.sessions_in_range(first.isoformat(), last.isoformat())
        return [s.date() for s in sessions]

    def session_hours(self, day: date) -> tuple[datetime, datetime]:
        """The liquid hours of the session closing on `day` as naive local times; an early
        close from the exchange calendar (a half day) or the definition cuts it short."""
        opens, closes = self.spec.liquid_span
        if opens == closes == time(0):  # round the clock, midnight to midnight
            return datetime.combine(day, opens), datetime.combine(day + timedelta(days=1), opens)
        open_day = day - timedelta(days=1) if closes <= opens else day
        start = datetime.combine(open_day, opens)
        end = datetime.combine(day, closes)
        early = self.spec.early_closes.get(day)
        if early is not None:
            end = min(end, datetime.combine(day, _hhmm(early)))
        if self.name != CONTRACT and "/" not in self.name:
            end = min(end, self._exchange_close(day))
        return start, end

    def _exchange_close(self, day: date) -> datetime:
        # The whole year's calendar, built once (cached): one per session would take
        # tens of milliseconds each.
        calendar = _exchange_calendar(self.name, date(day.year, 1, 1), date(day.year, 12, 31))
        close = calendar.session_close(day.isoformat()).tz_convert(self.spec.time_zone)
        return datetime.combine(day, close.time()) if close.date() == day else datetime.max

    def session_keys(self, clock: npt.NDArray[np.datetime64]) -> npt.NDArray[np.datetime64]:
        """The session date of each timestamp (see the module docstring)."""
        shifted = clock.astype("datetime64[s]") + np.timedelta64(self.session_shift_s, "s")
        return shifted.astype("datetime64[D]")


def calendar_for(spec: ContractSpec) -> TradingCalendar:
    """The research calendar of a contract definition; ConfigError for an unknown name."""
    name = spec.calendar or _default_name(spec)
    if name != CONTRACT and name not in REFERENCE_PERIODS:
        check_known(name, spec.symbol)  # imports exchange_calendars (~0.8 s): only when needed
    periods = spec.periods_per_year or reference_periods(name, spec)
    return TradingCalendar(name, float(periods), _session_shift(spec), spec)


def reference_periods(name: str, spec: ContractSpec | None = None) -> int:
    """Average sessions a year over `REFERENCE_YEARS`, rounded."""
    if name in REFERENCE_PERIODS:
        return REFERENCE_PERIODS[name]
    first, last = date(REFERENCE_YEARS[0], 1, 1), date(REFERENCE_YEARS[1], 12, 31)
    years = REFERENCE_YEARS[1] - REFERENCE_YEARS[0] + 1
    if name == CONTRACT:
        if spec is None:
            raise ValueError("the contract calendar needs its definition")
        days = (first + timedelta(days=i) for i in range((last - first).days + 1))
        return round(sum(1 for d in days if d.weekday() in spec.weekdays) / years)
    sessions = _exchange_calendar(name, first, last).sessions_in_range(first, last)
    return round(len(sessions) / years)


def _default_name(spec: ContractSpec) -> str:
    if spec.sec_type in ("FUT", "IND") and spec.exchange in DEFAULT_BY_EXCHANGE:
        return DEFAULT_BY_EXCHANGE[spec.exchange]
    if spec.sec_type == "FUT":
        return CONTRACT
    return DEFAULT_BY_SEC_TYPE.get(spec.sec_type, "XNYS")


def _session_shift(spec: ContractSpec) -> int:
    opens, closes = spec.trading_span
    if closes > opens:
        return 0
    return (86_400 - (opens.hour * 3600 + opens.minute * 60)) % 86_400


def calendar_bounds(name: str) -> tuple[date | None, date | None]:
    """The first and last dates an exchange calendar knows sessions for (None: no bound;
    e.g. XBOM's holidays are recorded from 1997 only). The contract calendar has none."""
    if name == CONTRACT:
        return None, None
    from exchange_calendars.calendar_utils import global_calendar_dispatcher as dispatcher

    factories = getattr(dispatcher, "_calendar_factories", {})  # no public accessor
    factory = factories.get(dispatcher.resolve_alias(name))
    if factory is None:
        return None, None
    low, high = factory.bound_min(), factory.bound_max()
    return (None if low is None else low.date()), (None if high is None else high.date())


@lru_cache(maxsize=64)
def _exchange_calendar(name: str, first: date, last: date):  # type: ignore[no-untyped-def]
    """An exchange_calendars calendar covering `first`..`last` (plus a margin, kept
    within the calendar's bounds)."""
    import exchange_calendars

    low, high = calendar_bounds(name)
    start = first - timedelta(days=7)
    end = last + timedelta(days=7)
    start = start if low is None else max(start, low)
    end = end if high is None else min(end, high)
    return exchange_calendars.get_calendar(name, start=start.isoformat(), end=end.isoformat())


def _hhmm(text: str) -> time:
    return time(int(text[:2]) % 24, int(text[2:]))
