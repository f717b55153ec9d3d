"""Head timestamp (88) and historical schedule (106), cut from the tape.

- headTimestamp: the start of the earliest bar the tape holds (every series starts
  there: quotes are derived from trades). formatDate 1 is ``YYYYMMDD-HH:MM:SS`` in UTC,
  as TWS writes it (the libraries read it as naive UTC); 2 is epoch seconds.
- historicalSchedule: one session per exchange-local trading day in the requested
  range, ``YYYYMMDD-HH:MM:SS`` in the contract's zone, with its reference date;
  a session in progress is shown whole (a schedule is known ahead, unlike data).
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np

from tradd.simgw.tape import Tape
from tradd.simgw.wire import FieldValue


def head_timestamp(req_id: int, tape: Tape, format_date: int) -> list[FieldValue]:
    first = tape.first_time
    stamp = datetime.fromtimestamp(first, UTC)
    text = str(first) if format_date == 2 else f"{stamp:%Y%m%d-%H:%M:%S}"
    return [88, req_id, text]


def historical_schedule(req_id: int, tape: Tape, start: int, end: int) -> list[FieldValue]:
    """Sessions whose trading starts in [start, end)."""
    zone = ZoneInfo(tape.instrument.time_zone)
    first = int(np.searchsorted(tape.starts, start, side="left"))
    last = int(np.searchsorted(tape.starts, end, side="left"))
    sessions: list[FieldValue] = []
    i = first
    while i < last:
        day = tape.days[i]
        j = int(np.searchsorted(tape.days, day, side="right")) - 1
        opens = datetime.fromtimestamp(int(tape.starts[i]), zone)
        closes = datetime.fromtimestamp(int(tape.ends[j]), zone)
        sessions += [f"{opens:%Y%m%d-%H:%M:%S}", f"{closes:%Y%m%d-%H:%M:%S}", f"{opens:%Y%m%d}"]
        i = j + 1
    span = [f"{datetime.fromtimestamp(t, zone):%Y%m%d-%H:%M:%S}" for t in (start, end)]
    return [106, req_id, *span, tape.instrument.time_zone, len(sessions) // 3, *sessions]
