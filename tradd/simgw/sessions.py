"""Trading hours as IB writes them in contract details.

IB sends ``tradingHours`` and ``liquidHours`` for the coming days in the
contract's time zone, one entry per day starting today::

    20060103:0900-20060103:2200;20060104:0900-20060104:2200;20060107:CLOSED;...

A session that opens the evening before is written from its opening date to
its closing date (``20240728:1900-20240729:0745``), as IB does for futures and
forex; a day without a session is ``YYYYMMDD:CLOSED``. Observed replies run
from the request day through five days later (Sunday to Friday), so that is
the horizon here: a client that runs for weeks must ask again.

A day is a session when the definition trades it (weekday, not a holiday) and
the replay tape has data for it; days past the end of the data are CLOSED,
because nothing trades there in the simulator either.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np

from tradd.marketdata.contracts import ContractSpec
from tradd.simgw.tape import Tape

HORIZON_DAYS = 6


def ib_hours(tape: Tape, now: int, *, liquid: bool, days: int = HORIZON_DAYS) -> str:
    """``tradingHours`` (liquid=False) or ``liquidHours`` from the local day of ``now``."""
    spec = tape.instrument.definition
    today = datetime.fromtimestamp(now, spec.zone).date()
    traded = _days_with_data(tape)
    entries = [_entry(spec, today + timedelta(days=k), traded, liquid) for k in range(days)]
    return ";".join(entries)


def _entry(spec: ContractSpec, day: date, traded: frozenset[int], liquid: bool) -> str:
    window = spec.session(day, liquid=liquid) if _day_number(day) in traded else None
    if window is None:
        return f"{day:%Y%m%d}:CLOSED"
    start, end = window
    return f"{start:%Y%m%d:%H%M}-{end:%Y%m%d:%H%M}"


def _days_with_data(tape: Tape) -> frozenset[int]:
    return frozenset(int(d) for d in np.unique(tape.days))


def _day_number(day: date) -> int:
    return (day - date(1970, 1, 1)).days
