"""The durable outbox: every alert is stored before anything is sent, so nothing is lost.

`add` stores an alert with one pending delivery per channel in one transaction; the
dispatcher then asks for each channel's `due` deliveries, sends them and marks each
`sent` or `failed` (with a time to try again, or for good). Whatever is still pending when
the supervisor stops is due again when it starts: the outbox is the only state.

Delivery is at least once: a crash after a channel accepted a message but before `sent`
committed leaves the delivery pending, and it goes out again after the restart. The
alert's id (in every message) lets a reader recognise the repeat.

All methods are synchronous short transactions (the dispatcher calls them through
`asyncio.to_thread`); nothing returned is tied to a session.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from tradd.alerts.model import Alert
from tradd.persistence.models import AlertDelivery, StoredAlert
from tradd.persistence.transactions import read_transaction, write_transaction
from tradd.records.events import SEVERITIES, Severity

Clock = Callable[[], datetime]
PENDING, SENT, FAILED = "pending", "sent", "failed"
TEXT_MAX = 500
"""Characters of an error or receipt that are kept (a server may reply at length)."""
CHANNEL_MAX = 32
KIND_MAX = 64


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Delivery:
    """One alert to send on one channel; `attempts` made so far (all failed)."""

    id: int
    channel: str
    attempts: int
    alert: Alert


@dataclass(frozen=True)
class DeliveryState:
    """Where one channel's delivery of an alert stands (for `tradctl alerts list`)."""

    channel: str
    status: str
    """pending, sent or failed (for good)."""
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None
    sent_at: datetime | None
    receipt: str | None


@dataclass(frozen=True)
class AlertRecord:
    alert: Alert
    deliveries: tuple[DeliveryState, ...]
    """One per channel, in the order the channels were given to `add`."""


def clip(text: str, limit: int = TEXT_MAX) -> str:
    """`text` cut to `limit` characters, marked as cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _json_data(data: dict[str, Any]) -> dict[str, Any]:
    """`data` as it will come back from the database: JSON types only (dates, NaN and
    other values become strings), so what `add` returns equals what `due` hands out later,
    and odd data never keeps an alert out of the outbox."""
    value = json.loads(json.dumps(data, default=str, skipkeys=True), parse_constant=str)
    if not isinstance(value, dict):
        raise ValueError("alert data must be a mapping")
    return value


def _check(alert: Alert, channels: Sequence[str]) -> list[str]:
    """The channels without repeats, after refusing what the schema would refuse."""
    if alert.id is not None:
        raise ValueError(f"alert {alert.id} is already in the outbox")
    if alert.severity not in SEVERITIES:
        raise ValueError(f"alert severity {alert.severity!r}: use {', '.join(SEVERITIES)}")
    if not alert.kind or len(alert.kind) > KIND_MAX:
        raise ValueError(f"alert kind {alert.kind!r}: 1 to {KIND_MAX} characters")
    _check_aware("alert created_at", alert.created_at)
    bad = [c for c in channels if not c or len(c) > CHANNEL_MAX]
    if bad:
        raise ValueError(f"channel names {bad}: 1 to {CHANNEL_MAX} characters")
    return list(dict.fromkeys(channels))


def _check_aware(what: str, value: datetime) -> None:
    if value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware")


def _alert(row: StoredAlert) -> Alert:
    return Alert(
        kind=row.kind,
        severity=cast(Severity, row.severity),
        subject=row.subject,
        body=row.body,
        created_at=row.created_at,
        strategy=row.strategy,
        data=dict(row.data),
        suppressed=row.suppressed,
        id=row.id,
    )


def _state(row: AlertDelivery) -> DeliveryState:
    return DeliveryState(
        channel=row.channel,
        status=row.status,
        attempts=row.attempts,
        last_error=row.last_error,
        next_attempt_at=row.next_attempt_at,
        sent_at=row.sent_at,
        receipt=row.receipt,
    )


class Outbox:
    """Alerts and their deliveries, in the shared database."""

    def __init__(self, sessions: sessionmaker[Session], clock: Clock = utc_now) -> None:
        self._sessions = sessions
        self._clock = clock

    def add(self, alert: Alert, channels: Sequence[str]) -> Alert:
        """Store `alert` with a delivery due now on each of `channels`; returns it with its
        id. With no channels it is stored all the same, as a record that it happened."""
        wanted = _check(alert, channels)
        data = _json_data(alert.data)
        now = self._clock()
        with write_transaction(self._sessions) as session:
            row = StoredAlert(
                created_at=alert.created_at,
                kind=alert.kind,
                severity=alert.severity,
                strategy=alert.strategy,
                subject=alert.subject,
                body=alert.body,
                data=data,
                suppressed=alert.suppressed,
            )
            session.add(row)
            session.flush()
            session.add_all(
                AlertDelivery(
                    alert_id=row.id, channel=c, status=PENDING, attempts=0, next_attempt_at=now
                )
                for c in wanted
            )
            return replace(alert, data=data, id=row.id)

    def due(self, channel: str, limit: int = 50) -> list[Delivery]:
        """`channel`'s pending deliveries whose time has come, longest due first (then
        oldest alert first), at most `limit`."""
        query = (
            select(AlertDelivery, StoredAlert)
            .join(StoredAlert, StoredAlert.id == AlertDelivery.alert_id)
            .where(
                AlertDelivery.channel == channel,
                AlertDelivery.status == PENDING,
                AlertDelivery.next_attempt_at <= self._clock(),
            )
            .order_by(AlertDelivery.next_attempt_at, AlertDelivery.id)
            .limit(limit)
        )
        with read_transaction(self._sessions) as session:
            return [
                Delivery(d.id, d.channel, d.attempts, _alert(a)) for d, a in session.execute(query)
            ]

    def next_due_at(self, channel: str) -> datetime | None:
        """When `channel`'s next pending delivery is due (maybe already); None: none left."""
        query = select(func.min(AlertDelivery.next_attempt_at)).where(
            AlertDelivery.channel == channel, AlertDelivery.status == PENDING
        )
        with read_transaction(self._sessions) as session:
            return session.scalar(query)

    def sent(self, delivery_id: int, receipt: str) -> None:
        """The channel took the delivery: it is done (the last error, if any, is kept)."""
        self._finish(
            delivery_id,
            status=SENT,
            receipt=clip(receipt),
            sent_at=self._clock(),
            next_attempt_at=None,
        )

    def failed(self, delivery_id: int, error: str, retry_at: datetime | None) -> None:
        """The attempt failed: try again at `retry_at`, or never (None: status failed).
        `error` must hold no secret; it is kept, cut to TEXT_MAX characters."""
        if retry_at is not None:
            _check_aware("retry_at", retry_at)
        self._finish(
            delivery_id,
            status=PENDING if retry_at is not None else FAILED,
            last_error=clip(error),
            next_attempt_at=retry_at,
        )

    def _finish(self, delivery_id: int, **values: Any) -> None:
        """Count the attempt and apply `values`, to a delivery that is still pending."""
        statement = (
            update(AlertDelivery)
            .where(AlertDelivery.id == delivery_id, AlertDelivery.status == PENDING)
            .values(attempts=AlertDelivery.attempts + 1, **values)
        )
        with write_transaction(self._sessions) as session:
            if session.execute(statement).rowcount != 1:  # type: ignore[attr-defined]
                raise ValueError(f"alert delivery {delivery_id} is not pending")

    def recent(self, limit: int = 50) -> list[AlertRecord]:
        """The latest `limit` alerts, newest first, with each channel's delivery state."""
        query = select(StoredAlert).order_by(StoredAlert.id.desc()).limit(limit)
        with read_transaction(self._sessions) as session:
            alerts = list(session.scalars(query))
            return self._records(session, alerts)

    def latest(self, kind: str) -> Alert | None:
        """The newest alert of `kind` (e.g. the last daily summary), however old."""
        query = select(StoredAlert).where(StoredAlert.kind == kind).order_by(StoredAlert.id.desc())
        with read_transaction(self._sessions) as session:
            row = session.scalars(query.limit(1)).first()
            return None if row is None else _alert(row)

    def find(self, alert_id: int) -> AlertRecord | None:
        """One alert and its deliveries; None if there is no such alert."""
        with read_transaction(self._sessions) as session:
            row = session.get(StoredAlert, alert_id)
            return None if row is None else self._records(session, [row])[0]

    def pending_count(self, channel: str | None = None) -> int:
        """Deliveries not yet sent nor given up (on `channel`, or on all channels)."""
        query = select(func.count()).where(AlertDelivery.status == PENDING)
        if channel is not None:
            query = query.where(AlertDelivery.channel == channel)
        with read_transaction(self._sessions) as session:
            return int(session.scalar(query) or 0)

    @staticmethod
    def _records(session: Session, alerts: list[StoredAlert]) -> list[AlertRecord]:
        if not alerts:
            return []
        query = (
            select(AlertDelivery)
            .where(AlertDelivery.alert_id.in_([a.id for a in alerts]))
            .order_by(AlertDelivery.id)
        )
        by_alert: dict[int, list[DeliveryState]] = {a.id: [] for a in alerts}
        for row in session.scalars(query):
            by_alert[row.alert_id].append(_state(row))
        return [AlertRecord(_alert(a), tuple(by_alert[a.id])) for a in alerts]
