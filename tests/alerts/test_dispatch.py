"""The dispatcher over a real outbox (SQLite and PostgreSQL): retries with backoff and
delivers once, channels independent of each other, timeouts, permanent failures, the rate
limit, secrets kept out, and pending alerts delivered after a stop or a kill.

Most tests use `ScriptedChannel`, whose behaviour each test spells out; the last one goes
through the real email channel to a real SMTP server that is down for a while.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import selectors
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import pytest
from sqlalchemy.orm import Session, sessionmaker
from structlog.testing import capture_logs

from tests.fixtures.alert_servers import SmtpServer
from tests.fixtures.database import OpenedDatabase
from tradd.alerts.dispatch import Dispatcher, backoff
from tradd.alerts.email import EmailChannel
from tradd.alerts.model import Alert, Channel, ChannelError
from tradd.alerts.outbox import Delivery, Outbox
from tradd.config.alerts import AlertSettings, EmailSettings, SmsSettings
from tradd.errors import TemporaryError
from tradd.persistence.db import open_database

ROOT = Path(__file__).resolve().parents[2]
EPS = 0.01
"""Timers may fire this much early (clock resolution)."""
Step = Literal["ok", "temporary", "permanent", "block", "bug"]


@dataclass(frozen=True)
class Attempt:
    alert_id: int
    step: Step
    at: float
    """time.monotonic() when the send began."""


class ScriptedChannel:
    """A Channel that does what its script says, one step per send, recording each try.

    "ok" returns a receipt; "temporary" / "permanent" raise ChannelError of that kind
    (with `error` as the message); "bug" raises KeyError; "block" waits for `release`,
    then succeeds (unless a timeout or a stop cancels it first). Once the script is used
    up, every send does `then`. `until(predicate)` waits for a change that satisfies it.
    """

    def __init__(
        self, name: str, script: Iterable[Step] = (), then: Step = "ok", error: str = "down"
    ) -> None:
        self.name, self.then, self.error = name, then, error
        self.script: deque[Step] = deque(script)
        self.attempts: list[Attempt] = []
        self.delivered: list[int] = []
        self.release = asyncio.Event()
        self._changed = asyncio.Condition()

    async def send(self, alert: Alert) -> str:
        assert alert.id is not None
        step = self.script.popleft() if self.script else self.then
        self.attempts.append(Attempt(alert.id, step, time.monotonic()))
        await self._notify()
        if step == "block":
            await self.release.wait()
        elif step in ("temporary", "permanent"):
            raise ChannelError(self.error, temporary=step == "temporary")
        elif step == "bug":
            raise KeyError("oops")
        self.delivered.append(alert.id)
        await self._notify()
        return f"{self.name}-receipt-{alert.id}"

    async def until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(predicate), timeout)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()


def settings(**overrides: Any) -> AlertSettings:
    return AlertSettings(**({"retry_initial": 0.05, "retry_max": 0.2} | overrides))


def alert(subject: str = "halted") -> Alert:
    return Alert("halted", "critical", subject, "body", datetime.now(UTC), strategy="s1")


def add(outbox: Outbox, count: int, channels: list[str]) -> list[int]:
    return [outbox.add(alert(f"a{i}"), channels).id or 0 for i in range(count)]


def states(outbox: Outbox, alert_id: int) -> dict[str, Any]:
    record = outbox.find(alert_id)
    assert record is not None
    return {d.channel: d for d in record.deliveries}


@pytest.fixture
def outbox(database: OpenedDatabase) -> Outbox:
    return Outbox(database.sessions)


def dispatcher(outbox: Outbox, *channels: Channel, **overrides: Any) -> Dispatcher:
    return Dispatcher(outbox, {c.name: c for c in channels}, settings(**overrides))


def run(
    outbox: Outbox, channel: ScriptedChannel, done: Callable[[], bool], **overrides: Any
) -> None:
    """Dispatch through `channel` until `done()`, then until nothing is due, then stop."""

    async def scenario() -> None:
        d = dispatcher(outbox, channel, **overrides)
        await d.start()
        await channel.until(done)
        await d.drain(5)
        await d.stop(5)

    asyncio.run(scenario())


def test_backoff_doubles_from_the_initial_delay_up_to_the_cap() -> None:
    assert [backoff(n, 5.0, 300.0) for n in range(1, 9)] == [5, 10, 20, 40, 80, 160, 300, 300]
    assert backoff(10**6, 5.0, 300.0) == 300.0


def test_temporary_failures_are_retried_with_backoff_then_delivered_once(outbox: Outbox) -> None:
    [alert_id] = add(outbox, 1, ["email"])

    async def scenario() -> ScriptedChannel:
        email = ScriptedChannel("email", ["temporary"] * 3, error="421 try later")
        d = dispatcher(outbox, email, retry_max=0.15)
        await d.start()
        await email.until(lambda: bool(email.delivered))
        await d.drain(5)
        await d.stop(5)
        again = ScriptedChannel("email")  # a restart finds nothing left to send
        d = dispatcher(outbox, again)
        await d.start()
        await d.drain(5)
        await d.stop(5)
        assert again.attempts == []
        return email

    email = asyncio.run(scenario())
    assert [a.step for a in email.attempts] == ["temporary"] * 3 + ["ok"]
    assert email.delivered == [alert_id]
    times = [a.at for a in email.attempts]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert all(g >= want - EPS for g, want in zip(gaps, [0.05, 0.1, 0.15], strict=True)), gaps
    email_state = states(outbox, alert_id)["email"]
    assert (email_state.status, email_state.attempts) == ("sent", 4)
    assert (email_state.receipt, email_state.last_error) == (
        f"email-receipt-{alert_id}",
        "421 try later",
    )
    assert outbox.pending_count() == 0


def test_a_blocked_or_failing_channel_does_not_delay_the_others(outbox: Outbox) -> None:
    email = ScriptedChannel("email", ["block"])
    webhook = ScriptedChannel("webhook", then="temporary")
    sms = ScriptedChannel("sms")

    async def scenario() -> None:
        d = Dispatcher(
            outbox,
            {"email": email, "webhook": webhook, "sms": sms},
            settings(email=EmailSettings(timeout=60)),
        )
        first = outbox.add(alert("first"), ["email", "webhook", "sms"]).id
        await d.start()
        await sms.until(lambda: sms.delivered == [first])
        await email.until(lambda: len(email.attempts) == 1)  # and stuck in there
        second = outbox.add(alert("second"), ["email", "webhook", "sms"]).id
        d.wake()
        await sms.until(lambda: sms.delivered == [first, second])
        await webhook.until(lambda: len(webhook.attempts) >= 2)  # retrying all along
        assert email.delivered == []
        assert webhook.delivered == []
        email.release.set()
        await email.until(lambda: email.delivered == [first, second])
        await d.stop(5)

    asyncio.run(scenario())
    assert outbox.pending_count("webhook") == 2
    assert outbox.pending_count() == 2


def test_a_send_that_outlasts_the_channel_timeout_is_retried(outbox: Outbox) -> None:
    [alert_id] = add(outbox, 1, ["email"])
    email = ScriptedChannel("email", ["block"])  # never released: only the timeout ends it
    run(outbox, email, lambda: bool(email.delivered), email=EmailSettings(timeout=0.1))
    assert [a.step for a in email.attempts] == ["block", "ok"]
    state = states(outbox, alert_id)["email"]
    assert (state.status, state.attempts, state.last_error) == ("sent", 2, "no answer within 0.1s")


def test_a_bug_in_a_channel_is_retried_and_does_not_stop_it(outbox: Outbox) -> None:
    [alert_id] = add(outbox, 1, ["sms"])
    sms = ScriptedChannel("sms", ["bug"])
    run(outbox, sms, lambda: bool(sms.delivered))
    state = states(outbox, alert_id)["sms"]
    assert (state.status, state.attempts) == ("sent", 2)
    assert state.last_error == "unexpected KeyError in the channel"


def test_a_permanent_failure_is_not_retried(outbox: Outbox) -> None:
    refused, accepted = add(outbox, 2, ["email"])
    email = ScriptedChannel("email", ["permanent"], error="550 no such user")
    run(outbox, email, lambda: email.delivered == [accepted])
    assert [(a.alert_id, a.step) for a in email.attempts] == [
        (refused, "permanent"),
        (accepted, "ok"),
    ]
    state = states(outbox, refused)["email"]
    assert (state.status, state.attempts, state.last_error) == ("failed", 1, "550 no such user")
    assert outbox.pending_count() == 0


class FlakyOutbox(Outbox):
    """An outbox whose database is unavailable for the first `due` and the first `sent`."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        super().__init__(sessions)
        self.outages = {"due": 1, "sent": 1}

    def _outage(self, what: str) -> None:
        if self.outages[what]:
            self.outages[what] -= 1
            raise TemporaryError("database unavailable: connection refused")

    def due(self, channel: str, limit: int = 50) -> list[Delivery]:
        self._outage("due")
        return super().due(channel, limit)

    def sent(self, delivery_id: int, receipt: str) -> None:
        self._outage("sent")
        super().sent(delivery_id, receipt)


def test_a_database_outage_delays_but_never_repeats_a_send(
    database: OpenedDatabase, outbox: Outbox
) -> None:
    [alert_id] = add(outbox, 1, ["email"])
    flaky, email = FlakyOutbox(database.sessions), ScriptedChannel("email")

    async def scenario() -> None:
        d = Dispatcher(flaky, {"email": email}, settings())
        await d.start()
        await email.until(lambda: bool(email.delivered))
        await d.drain(5)  # the send is recorded (after a retry), so nothing is due again
        await d.stop(5)

    asyncio.run(scenario())
    assert flaky.outages == {"due": 0, "sent": 0}
    assert email.delivered == [alert_id]
    assert states(outbox, alert_id)["email"].status == "sent"


def test_the_rate_limit_delays_sends_but_delivers_them_all(outbox: Outbox) -> None:
    ids = add(outbox, 5, ["sms"])
    sms = ScriptedChannel("sms")
    run(
        outbox, sms, lambda: len(sms.delivered) == 5, sms=SmsSettings(rate_limit=2, rate_window=0.3)
    )
    assert sms.delivered == ids  # oldest first, none dropped
    times = [a.at for a in sms.attempts]
    assert all(times[i + 2] - times[i] >= 0.3 - EPS for i in range(3)), times


def test_wake_sends_a_new_alert_at_once(outbox: Outbox) -> None:
    email = ScriptedChannel("email")

    async def scenario() -> None:
        d = Dispatcher(outbox, {"email": email}, settings(), recheck=60)
        await d.start()
        await d.drain(5)  # idle, and would not look again for a minute on its own
        alert_id = outbox.add(alert(), ["email"]).id
        d.wake("email")
        await email.until(lambda: email.delivered == [alert_id], timeout=5)
        await d.stop(5)

    asyncio.run(scenario())


def test_stop_lets_a_send_under_way_finish_within_the_timeout(outbox: Outbox) -> None:
    [alert_id] = add(outbox, 1, ["email"])
    email = ScriptedChannel("email", ["block"])

    async def scenario() -> None:
        d = dispatcher(outbox, email, email=EmailSettings(timeout=60))
        await d.start()
        await email.until(lambda: len(email.attempts) == 1)
        stopping = asyncio.get_running_loop().create_task(d.stop(timeout=30))
        done, _ = await asyncio.wait({stopping}, timeout=0.2)
        assert not done  # stop waits for the send
        email.release.set()
        await asyncio.wait_for(stopping, 5)

    asyncio.run(scenario())
    assert email.delivered == [alert_id]
    assert states(outbox, alert_id)["email"].status == "sent"


def test_what_a_stopped_dispatcher_left_pending_goes_out_after_a_restart(
    database: OpenedDatabase, outbox: Outbox
) -> None:
    ids = add(outbox, 3, ["email"])
    stuck = ScriptedChannel("email", ["block"])

    async def first_run() -> float:
        d = dispatcher(outbox, stuck, email=EmailSettings(timeout=60))
        await d.start()
        await stuck.until(lambda: len(stuck.attempts) == 1)
        began = time.monotonic()
        await d.stop(timeout=0.2)  # the send under way is cancelled
        return time.monotonic() - began

    assert asyncio.run(first_run()) < 2
    assert stuck.delivered == []
    assert outbox.pending_count() == 3
    database.engine.dispose()
    assert deliver_after_restart(database.url) == ids


def deliver_after_restart(url: str) -> list[int]:
    """A new engine, outbox and dispatcher over `url`: what they deliver, in order."""
    engine, sessions = open_database(url)
    try:
        outbox = Outbox(sessions)
        email = ScriptedChannel("email")
        run(outbox, email, lambda: True)
        assert outbox.pending_count() == 0
        return email.delivered
    finally:
        engine.dispose()


class Hang:
    """For the child process: announces each send, then never finishes it."""

    name = "email"

    async def send(self, alert: Alert) -> str:
        print(f"sending {alert.id}", flush=True)
        await asyncio.Event().wait()
        return ""


def child(url: str) -> None:
    """A supervisor stand-in: stores three alerts and starts sending them (forever)."""
    _, sessions = open_database(url)
    outbox = Outbox(sessions)
    add(outbox, 3, ["email"])

    async def run() -> None:
        await Dispatcher(outbox, {"email": Hang()}, settings()).start()
        await asyncio.Event().wait()

    asyncio.run(run())


def first_sent(process: subprocess.Popen[bytes], timeout: float = 60) -> int:
    """The alert id in the child's first "sending" line (its logs go to stdout too).
    The pipe is unbuffered, so nothing read sits in a buffer where `select` cannot see it."""
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while selector.select(timeout=max(0.0, deadline - time.monotonic())):
            line = process.stdout.readline()
            assert line, f"the child exited ({process.wait()}) before sending"
            if line.startswith(b"sending "):
                return int(line.split()[1])
    raise AssertionError(f"the child did not start sending within {timeout}s")


def test_alerts_pending_when_the_process_is_killed_go_out_after_a_restart(
    database_url: str,
) -> None:
    code = "import sys; from tests.alerts.test_dispatch import child; child(sys.argv[1])"
    with subprocess.Popen(
        [sys.executable, "-c", code, database_url], cwd=ROOT, stdout=subprocess.PIPE, bufsize=0
    ) as process:
        try:
            first = first_sent(process)
        finally:
            process.send_signal(signal.SIGKILL)
    assert deliver_after_restart(database_url) == [first, first + 1, first + 2]


def test_secrets_stay_out_of_the_outbox_and_the_logs(outbox: Outbox) -> None:
    secret = "pw-s3cr3t-42"
    [alert_id] = add(outbox, 1, ["email"])
    email = ScriptedChannel("email", ["temporary"], error=f"535 bad password {secret}")
    with capture_logs() as logs:
        run(outbox, email, lambda: bool(email.delivered), email=EmailSettings(password=secret))
    state = states(outbox, alert_id)["email"]
    assert state.last_error == "535 bad password ***"
    events = {e["event"] for e in logs}
    assert {"alert send failed, will retry", "alert sent"} <= events
    assert secret not in repr(logs)


MESSAGE_ID = re.compile(r"<tradd-alert-(\d+)-")


def test_smtp_down_for_a_while_then_every_alert_arrives_once(
    outbox: Outbox, smtp_server: SmtpServer
) -> None:
    smtp_server.down()
    smtp_server.fail_next(2)  # and once back, it puts off the first two messages
    email = EmailChannel(smtp_server.settings(timeout=2.0))
    attempts: list[str] = []
    tried = asyncio.Condition()

    class Counting:
        name = "email"

        async def send(self, alert: Alert) -> str:
            try:
                return await email.send(alert)
            finally:
                attempts.append(str(alert.id))
                async with tried:
                    tried.notify_all()

    async def scenario() -> list[int]:
        ids = add(outbox, 5, ["email"])
        d = Dispatcher(outbox, {"email": Counting()}, settings(email=smtp_server.settings()))
        await d.start()
        async with tried:  # refused a few times while the server is down
            await asyncio.wait_for(tried.wait_for(lambda: len(attempts) >= 3), 10)
        smtp_server.up()
        await asyncio.to_thread(smtp_server.wait_for, 5, 10.0)
        await d.drain(10)
        await d.stop(5)
        return ids

    ids = asyncio.run(scenario())
    received = [MESSAGE_ID.match(str(m.message["Message-ID"])) for m in smtp_server.messages]
    assert sorted(int(m.group(1)) for m in received if m) == ids  # all of them, none twice
    assert len(smtp_server.messages) == 5
    assert outbox.pending_count() == 0
    assert len(attempts) >= 3 + 2 + 5
