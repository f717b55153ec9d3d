"""Is a market open? Parsed from the contract's IB hours string.

IB sends `20090507:0930-20090507:1600;20090508:CLOSED` in the contract's time zone; the
simulator sends a plain daily `09:30-16:00`, read as weekdays only.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo


class MarketHours:
    def __init__(self, spec: str, tz: str) -> None:
        self._tz = ZoneInfo(tz)
        self._sessions: list[tuple[datetime, datetime]] = []
        self._daily: tuple[time, time] | None = None
        self._parse(spec.strip())

    def _parse(self, spec: str) -> None:
        if not spec:
            self._daily = (time(9, 30), time(16, 0))
            return
        if (
            ":" in spec
            and "-" in spec
            and spec[:2].isdigit()
            and len(spec.split("-", maxsplit=1)[0]) == 5
        ):
            a, b = spec.split(";", maxsplit=1)[0].split("-")
            self._daily = (time.fromisoformat(a), time.fromisoformat(b))
            return
        for part in spec.split(";"):
            if "CLOSED" in part or "-" not in part:
                continue
            a, b = part.split("-")
            self._sessions.append((self._stamp(a), self._stamp(b)))

    def _stamp(self, text: str) -> datetime:
        return datetime.strptime(text, "%Y%m%d:%H%M").replace(tzinfo=self._tz).astimezone(UTC)

    def is_open(self, now: datetime) -> bool:
        return self.session_start(now) is not None

    def session_start(self, now: datetime) -> datetime | None:
        """When the session `now` is in opened (UTC); None while the market is closed."""
        if self._daily is not None:
            local = now.astimezone(self._tz)
            if local.weekday() < 5 and self._daily[0] <= local.time() < self._daily[1]:
                return datetime.combine(local.date(), self._daily[0], self._tz).astimezone(UTC)
            return None
        return next((a for a, b in self._sessions if a <= now < b), None)
