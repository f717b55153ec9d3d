"""Is a market open? Parsed from the contract's IB hours string.

IB sends ``20090507:0930-20090507:1600;20090508:CLOSED`` in the contract's time zone, for
the request day and about five days after; a session opening the evening before is
written across the two dates (``20240728:1900-20240729:0745``). That is the only format
read here: the simulator sends it too, so a rehearsal runs the same parsing as real money.
The list ends within a week, so a long-running worker must fetch it again (daily).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from tradd.errors import DataError

_DATE = re.compile(r"^\d{8}$")
_STAMP = re.compile(r"^\d{8}:\d{4}$")


class MarketHours:
    def __init__(self, spec: str, tz: str) -> None:
        self._tz = ZoneInfo(tz)
        self._sessions: list[tuple[datetime, datetime]] = []
        self._days: list[date] = []
        self._parse(spec.strip())

    def _parse(self, spec: str) -> None:
        for part in spec.split(";"):
            part = part.strip()
            if not part:
                continue  # IB's lists may start with an empty entry
            day, _, rest = part.partition(":")
            if rest == "CLOSED":
                self._days.append(self._date(day, part))
                continue
            a, sep, b = part.partition("-")
            if not sep:
                raise DataError(
                    f"trading hours entry {part!r}: expected YYYYMMDD:HHMM-YYYYMMDD:HHMM"
                )
            start, end = self._stamp(a, part), self._stamp(b, part)
            self._sessions.append((start, end))
            self._days.append(self._date(day, part))

    def _date(self, text: str, part: str) -> date:
        try:
            if not _DATE.match(text):
                raise ValueError(text)
            return datetime.strptime(text, "%Y%m%d").date()
        except ValueError:
            raise DataError(f"trading hours entry {part!r}: bad date {text!r}") from None

    def _stamp(self, text: str, part: str) -> datetime:
        try:
            if not _STAMP.match(text):
                raise ValueError(text)
            local = datetime.strptime(text, "%Y%m%d:%H%M").replace(tzinfo=self._tz)
        except ValueError:
            raise DataError(f"trading hours entry {part!r}: bad time {text!r}") from None
        return local.astimezone(UTC)

    @property
    def known(self) -> bool:
        """Whether IB sent a schedule at all (an empty one means: unknown, assume open)."""
        return bool(self._days)

    @property
    def last_day(self) -> date | None:
        """The last day the schedule describes; past it the market looks shut for good."""
        return max(self._days) if self._days else None

    def is_open(self, now: datetime) -> bool:
        return self.session_start(now) is not None

    def session_start(self, now: datetime) -> datetime | None:
        """When the session `now` is in opened (UTC); None while the market is closed."""
        if not self.known:
            return datetime.min.replace(tzinfo=UTC)
        return next((a for a, b in self._sessions if a <= now < b), None)
