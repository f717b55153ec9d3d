"""From events to alerts: which channels, and no storms.

Routing: the event kind's own route (`[alerts.events]`) if it has one, else its severity's
(`[alerts.routes]`), limited to the enabled channels. Deduplication: an event whose
`dedup_key` (kind, strategy, rule...) already went out within `dedup_window` seconds is
counted instead of sent; the count rides on the next alert with that key, and `flush`
sends it on its own once the window has passed with nothing else to carry it. So a storm
of 1,000 identical events is one alert, then one "999 more" alert.

A flatten is never deduplicated (`NEVER_DEDUPLICATED`): it is the kill switch, each one an
operator's request (with who asked and whether it left the account flat), so an operator's
second flatten within the window is alerted like the first, never folded into a count.
Nor is a drift alert: each is one stored result, alerted once by the drift watch, which
routes it again only when the outbox refused it (a retry must not count as a repeat).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tradd.alerts.model import Alert, AlertEvent
from tradd.config.alerts import AlertSettings
from tradd.records.events import EventKind

NEVER_DEDUPLICATED = frozenset({EventKind.FLATTEN, EventKind.DRIFT})
"""Kinds alerted every time: each event is a request of its own, never a storm."""


@dataclass
class _Seen:
    sent_at: float
    suppressed: int
    last: AlertEvent


class AlertRouter:
    def __init__(self, settings: AlertSettings, monotonic: Callable[[], float]) -> None:
        self.settings, self._monotonic = settings, monotonic
        self._seen: dict[str, _Seen] = {}

    def channels(self, kind: str, severity: str) -> tuple[str, ...]:
        s = self.settings
        if not s.enabled:
            return ()
        wanted = s.events.get(kind, s.routes.get(severity, ()))
        enabled = set(s.enabled_channels())
        return tuple(c for c in wanted if c in enabled)

    def route(self, event: AlertEvent) -> Alert | None:
        """The alert to store and send now, or None when it is a suppressed repeat."""
        if event.kind in NEVER_DEDUPLICATED:
            return render(event, 0)
        now = self._monotonic()
        seen = self._seen.get(event.dedup_key)
        window = self.settings.dedup_window
        if seen is not None and now - seen.sent_at < window:
            seen.suppressed += 1
            seen.last = event
            return None
        suppressed = seen.suppressed if seen is not None else 0
        self._seen[event.dedup_key] = _Seen(now, 0, event)
        return render(event, suppressed)

    def flush(self, force: bool = False) -> list[Alert]:
        """Alerts for suppressed repeats whose window has passed (nothing else carried them);
        `force`: every pending count now (at shutdown)."""
        now, out = self._monotonic(), []
        for key, seen in list(self._seen.items()):
            if not force and now - seen.sent_at < self.settings.dedup_window:
                continue
            if seen.suppressed:
                out.append(render(seen.last, seen.suppressed, repeat=True))
                self._seen[key] = _Seen(now, 0, seen.last)
            else:
                del self._seen[key]
        return out


def render(event: AlertEvent, suppressed: int, repeat: bool = False) -> Alert:
    who = f"{event.strategy}: " if event.strategy else ""
    subject = f"{who}{event.kind.replace('_', ' ')}: {event.message}"
    if repeat:
        subject = f"{who}{event.kind.replace('_', ' ')}: {suppressed} more like this"
    lines = [
        event.message,
        "",
        f"kind: {event.kind}",
        f"severity: {event.severity}",
        f"at: {event.at.isoformat()}",
    ]
    table = event.data.get("table")
    if isinstance(table, str):
        lines[1:1] = ["", table]
    if event.strategy:
        lines.append(f"strategy: {event.strategy}")
    lines += [
        f"{k}: {v}"
        for k, v in sorted(event.data.items())
        if k != "table" and not isinstance(v, list | dict)
    ]
    return Alert(
        kind=event.kind,
        severity=event.severity,
        subject=_one_line(subject)[:200],
        body="\n".join(lines),
        created_at=event.at,
        strategy=event.strategy,
        data=dict(event.data),
        suppressed=suppressed,
    )


def _one_line(text: str) -> str:
    return " ".join(text.split())
