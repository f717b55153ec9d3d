"""The outbox, on SQLite and PostgreSQL: alerts stored before sending, due deliveries in
order, retries scheduled, final states final, and everything pending still there for a
new Outbox over the same database (a restart)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.fixtures.database import OpenedDatabase
from tradd.alerts.model import Alert
from tradd.alerts.outbox import TEXT_MAX, Outbox
from tradd.persistence.db import open_database

T0 = datetime(2024, 3, 8, 14, 30, tzinfo=UTC)


class FakeClock:
    """Returns `now`, which moves only when the test says so."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def at(self, seconds: float) -> datetime:
        self.now = T0 + timedelta(seconds=seconds)
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def outbox(database: OpenedDatabase, clock: FakeClock) -> Outbox:
    return Outbox(database.sessions, clock)


def alert(subject: str = "halted", **overrides: Any) -> Alert:
    values: dict[str, Any] = {
        "kind": "halted", "severity": "critical", "subject": subject, "body": f"{subject}: body",
        "created_at": T0, "strategy": "sma_goog", "data": {"rule": "max_dd"}, "suppressed": 2,
    }  # fmt: skip
    values.update(overrides)
    return Alert(**values)


def test_add_stores_the_alert_with_one_pending_delivery_per_channel_due_now(
    outbox: Outbox, clock: FakeClock
) -> None:
    stored = outbox.add(alert(), ["email", "sms", "email"])
    assert stored.id is not None
    assert stored == alert(id=stored.id)
    [email] = outbox.due("email")
    assert (email.channel, email.attempts, email.alert) == ("email", 0, stored)
    assert [d.alert.id for d in outbox.due("sms")] == [stored.id]
    assert outbox.due("webhook") == []
    assert outbox.pending_count() == 2  # the repeated channel got one delivery
    assert outbox.pending_count("sms") == 1
    assert outbox.next_due_at("email") == clock.now
    assert outbox.next_due_at("webhook") is None


def test_an_alert_without_channels_is_kept_as_a_record(outbox: Outbox) -> None:
    stored = outbox.add(alert(), [])
    [record] = outbox.recent()
    assert record.alert == stored
    assert record.deliveries == ()
    assert outbox.pending_count() == 0


def test_due_is_longest_due_first_then_oldest_and_honours_limit(
    outbox: Outbox, clock: FakeClock
) -> None:
    ids = []
    for i in range(3):
        clock.at(i)
        ids.append(outbox.add(alert(f"a{i}"), ["email"]).id)
    first = outbox.due("email")[0]
    outbox.failed(first.id, "connection refused", retry_at=T0 + timedelta(seconds=10))
    clock.at(5)
    assert [d.alert.id for d in outbox.due("email")] == ids[1:]  # the retry is not due yet
    assert outbox.next_due_at("email") == T0 + timedelta(seconds=1)
    clock.at(10)
    assert [d.alert.id for d in outbox.due("email")] == [ids[1], ids[2], ids[0]]
    assert [d.alert.id for d in outbox.due("email", limit=2)] == ids[1:]
    assert outbox.due("email")[2].attempts == 1


def test_a_temporary_failure_is_pending_again_when_its_retry_comes_due(
    outbox: Outbox, clock: FakeClock
) -> None:
    outbox.add(alert(), ["email"])
    [delivery] = outbox.due("email")
    outbox.failed(delivery.id, "421 try later", retry_at=T0 + timedelta(seconds=30))
    assert outbox.due("email") == []
    assert outbox.pending_count() == 1
    assert outbox.next_due_at("email") == T0 + timedelta(seconds=30)
    clock.at(30)
    [again] = outbox.due("email")
    assert (again.id, again.attempts) == (delivery.id, 1)
    [state] = outbox.recent()[0].deliveries
    assert (state.status, state.attempts, state.last_error) == ("pending", 1, "421 try later")


def test_sent_is_final_and_keeps_the_receipt(outbox: Outbox, clock: FakeClock) -> None:
    outbox.add(alert(), ["sms"])
    [delivery] = outbox.due("sms")
    outbox.failed(delivery.id, "503", retry_at=clock.now)
    clock.at(7)
    outbox.sent(delivery.id, "SM123")
    assert outbox.due("sms") == []
    assert outbox.next_due_at("sms") is None
    assert outbox.pending_count() == 0
    [state] = outbox.recent()[0].deliveries
    assert (state.status, state.attempts, state.receipt) == ("sent", 2, "SM123")
    assert (state.sent_at, state.next_attempt_at, state.last_error) == (clock.now, None, "503")
    with pytest.raises(ValueError, match="not pending"):
        outbox.sent(delivery.id, "again")
    with pytest.raises(ValueError, match="not pending"):
        outbox.failed(delivery.id, "late", retry_at=None)


def test_a_permanent_failure_is_never_due_again(outbox: Outbox, clock: FakeClock) -> None:
    outbox.add(alert(), ["email"])
    [delivery] = outbox.due("email")
    outbox.failed(delivery.id, "550 no such user", retry_at=None)
    clock.at(10**6)
    assert outbox.due("email") == []
    assert outbox.next_due_at("email") is None
    assert outbox.pending_count() == 0
    [state] = outbox.recent()[0].deliveries
    assert (state.status, state.attempts, state.last_error) == ("failed", 1, "550 no such user")


def test_errors_and_receipts_are_cut_short(outbox: Outbox) -> None:
    outbox.add(alert(), ["email", "sms"])
    [email], [sms] = outbox.due("email"), outbox.due("sms")
    outbox.failed(email.id, "x" * 5000, retry_at=None)
    outbox.sent(sms.id, "y" * 5000)
    states = {s.channel: s for s in outbox.recent()[0].deliveries}
    assert states["email"].last_error == "x" * (TEXT_MAX - 1) + "…"
    assert states["sms"].receipt == "y" * (TEXT_MAX - 1) + "…"


def test_recent_is_newest_first_with_each_channels_state(outbox: Outbox, clock: FakeClock) -> None:
    old = outbox.add(alert("old"), ["email", "webhook"])
    clock.at(60)
    new = outbox.add(alert("new", severity="info", strategy=None), ["email"])
    email_old = next(d for d in outbox.due("email") if d.alert.id == old.id)
    outbox.sent(email_old.id, "250 ok")
    records = outbox.recent()
    assert [r.alert for r in records] == [new, old]
    assert [(s.channel, s.status) for s in records[1].deliveries] == [
        ("email", "sent"),
        ("webhook", "pending"),
    ]
    assert [r.alert.id for r in outbox.recent(limit=1)] == [new.id]
    assert old.id is not None
    found = outbox.find(old.id)
    assert found is not None
    assert found == records[1]
    assert outbox.find(old.id + 1000) is None


def test_data_comes_back_as_stored_json(outbox: Outbox) -> None:
    eastern = datetime(2024, 3, 8, 9, 30, tzinfo=ZoneInfo("US/Eastern"))
    data = {"day": date(2024, 3, 8), "pnl": -1.5, "rows": [1, {"a": None}], "nan": float("nan")}
    stored = outbox.add(alert(created_at=eastern, data=data), ["email"])
    assert stored.data == {"day": "2024-03-08", "pnl": -1.5, "rows": [1, {"a": None}], "nan": "NaN"}
    [delivery] = outbox.due("email")
    assert delivery.alert == stored
    assert delivery.alert.created_at == eastern
    assert delivery.alert.created_at.tzinfo == UTC


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("bad", "channels", "message"),
    [
        ({"severity": "urgent"}, ["email"], "severity 'urgent'"),
        ({"created_at": datetime(2024, 3, 8)}, ["email"], "timezone-aware"),
        ({"id": 7}, ["email"], "already in the outbox"),
        ({"kind": ""}, ["email"], "kind ''"),
        ({}, ["email", ""], "channel names"),
    ],
)
def test_a_bad_alert_is_refused_before_anything_is_stored(
    outbox: Outbox, bad: dict[str, Any], channels: list[str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        outbox.add(alert(**bad), channels)
    assert outbox.recent() == []


def test_pending_deliveries_survive_a_restart(database: OpenedDatabase, clock: FakeClock) -> None:
    before = Outbox(database.sessions, clock)
    first = before.add(alert("first"), ["email", "sms"])
    second = before.add(alert("second"), ["email"])
    [sms] = before.due("sms")
    before.sent(sms.id, "SM1")
    email_first = before.due("email")[0]
    before.failed(email_first.id, "timeout", retry_at=clock.now)
    database.engine.dispose()

    engine, sessions = open_database(database.url)  # a new process, in effect
    try:
        after = Outbox(sessions, clock)
        assert after.pending_count() == 2
        assert after.due("sms") == []
        due = after.due("email")
        assert [(d.alert, d.attempts) for d in due] == [(first, 1), (second, 0)]
        for delivery in due:
            after.sent(delivery.id, "250 ok")
        assert after.pending_count() == 0
    finally:
        engine.dispose()
