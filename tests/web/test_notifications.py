"""The console's notifications through the alert system, to real loopback servers: an
analysis complete (email) and an analysis failed (email and webhook), from the same
`[alerts]` settings as the daemon's, stored in its outbox on the console's own lanes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.fixtures.simulator import eventually
from tests.web.support import finished
from tradd.alerts.outbox import Outbox
from tradd.persistence.db import open_database
from tradd.web.jobs import service
from tradd.web.records import JobKind

ANALYSIS = {"symbols": ["GOOG"], "strategies": ["strategies.sma_cross.SmaCross"],
            "start_date": "2011-01-03", "end_date": "2011-12-30"}  # fmt: skip


def test_analysis_complete_and_failed_are_sent_by_email_and_webhook(
    console_factory: Any, smtp_server: Any, webhook_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRADD_ALERTS__EMAIL__PASSWORD", smtp_server.password)
    monkeypatch.setenv("TRADD_ALERTS__WEBHOOK__URL", webhook_server.url)
    alerts = {
        "retry_initial": 0.1, "retry_max": 0.5, "summary": {"enabled": False},
        "email": {"enabled": True, "host": "127.0.0.1", "port": smtp_server.port,
                  "security": "none", "username": smtp_server.username,
                  "recipients": ["ops@example.com"], "timeout": 5},
        "webhook": {"enabled": True, "timeout": 5},
    }  # fmt: skip
    console = console_factory(alerts=alerts)
    assert console.ctx.notifier.lanes == ("web:email", "web:webhook")
    alice = console.client("alice")
    job_id = alice.post("/api/v1/optimizer/analyze", json=ANALYSIS).json()["job_id"]
    assert finished(alice, job_id)["status"] == "completed"
    (mail,) = smtp_server.wait_for(1, 20)  # info: email only ([alerts.routes])
    assert mail.subject.startswith("[tradd INFO]")
    assert f"scan job {job_id} of alice complete: best GOOG: SmaCross" in mail.subject

    bob = console.ctx.users.get("bob")
    assert bob is not None  # a job the API would refuse (no such strategy): its command fails
    failing = service.submit(console.ctx, bob, JobKind.SCAN,
                             {**ANALYSIS, "strategies": ["no_such.Strategy"], "initial_capital": 1e5,
                              "max_position_pct": 10})  # fmt: skip
    assert finished(console.client("bob"), failing.id)["status"] == "failed"
    mails = smtp_server.wait_for(2, 20)
    assert f"scan job {failing.id} of bob failed" in mails[1].subject
    (hook,) = webhook_server.wait_for(1, 20)  # warning: email and webhook
    document = hook.json()
    assert (document["kind"], document["severity"]) == ("analysis_failed", "warning")
    assert document["data"]["owner"] == "bob" and "no_such" in document["data"]["error"]

    engine, sessions = open_database(console.settings.database_url())
    outbox = Outbox(sessions, lambda: datetime.now(UTC))
    expected = {"analysis_complete": {"web:email": "sent"},
                "analysis_failed": {"web:email": "sent", "web:webhook": "sent"}}  # fmt: skip

    def lanes() -> dict[str, dict[str, str]]:  # marked sent just after the server took it
        return {r.alert.kind: {d.channel: d.status for d in r.deliveries}
                for r in outbox.recent(10)}  # fmt: skip

    try:
        eventually(lambda: lanes() == expected, 10, f"deliveries marked sent: {lanes()}")
    finally:
        engine.dispose()


def test_without_channels_a_notification_is_stored_as_a_record(console: Any) -> None:
    assert console.ctx.notifier.lanes == ()
    alice = console.client("alice")
    job_id = alice.post("/api/v1/optimizer/analyze", json=ANALYSIS).json()["job_id"]
    assert finished(alice, job_id)["status"] == "completed"
    engine, sessions = open_database(console.settings.database_url())
    try:
        outbox = Outbox(sessions, lambda: datetime.now(UTC))

        def stored() -> Any:
            return outbox.recent(5) or None

        (record,) = eventually(stored, 10, "the notification stored")
    finally:
        engine.dispose()
    assert record.alert.kind == "analysis_complete" and record.deliveries == ()
    assert record.alert.data["job_id"] == job_id
