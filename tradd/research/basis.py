"""The return basis of a research run: from its bar size and its symbols' calendars.

Weekly and monthly bars are one period each (52 and 12 a year). Daily and intraday runs
are measured per session, annualised by the calendar's periods a year; when symbols on
different calendars share a run, the busiest calendar's count is used (the run's clock is
the union of their bars, so it has at least that many sessions a year) and that calendar's
session dating too, so the periods counted are the ones annualised: with a stock and a
forex pair, forex's 261 sessions, Sunday evening part of Monday's (dating by the first
symbol made a stock-first run count Sunday evenings as sessions of their own).
"""

from __future__ import annotations

from collections.abc import Sequence

from tradd.marketdata.bars import PERIODS_PER_YEAR_OF_BAR
from tradd.marketdata.calendars import TradingCalendar, calendar_for
from tradd.marketdata.contracts import ContractDefinitions
from tradd.research.metrics import ReturnBasis


def basis_for(bar: str, calendars: Sequence[TradingCalendar]) -> ReturnBasis:
    names = "+".join(dict.fromkeys(c.name for c in calendars)) or "XNYS"
    fixed = PERIODS_PER_YEAR_OF_BAR.get(bar)
    if fixed is not None:
        period = "week" if bar == "1w" else "month"
        return ReturnBasis(float(fixed), 0, names, period)
    if not calendars:
        return ReturnBasis()
    busiest = max(calendars, key=lambda c: c.periods_per_year)  # the first of equals
    return ReturnBasis(busiest.periods_per_year, busiest.session_shift_s, names, "session")


def calendars_for(
    symbols: Sequence[str], definitions: ContractDefinitions
) -> tuple[TradingCalendar, ...]:
    return tuple(calendar_for(definitions.spec(s)) for s in symbols)
