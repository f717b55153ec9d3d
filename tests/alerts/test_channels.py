"""The email, SMS and webhook channels against real servers on loopback."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import SecretStr
from structlog.testing import capture_logs

from tests.fixtures.alert_servers import (
    HOST,
    SmtpServer,
    TlsCertificate,
    TwilioServer,
    WebhookServer,
)
from tradd.alerts.channels import build_channels
from tradd.alerts.email import EmailChannel
from tradd.alerts.model import Alert, Channel, ChannelError
from tradd.alerts.sms import SMS_LIMIT, SmsChannel, sms_text
from tradd.alerts.webhook import WebhookChannel
from tradd.config.alerts import AlertSettings

AT = datetime(2024, 5, 2, 14, 30, tzinfo=UTC)


def alert(**overrides: Any) -> Alert:
    values: dict[str, Any] = {
        "kind": "daily_loss", "severity": "critical", "subject": "Daily loss limit hit",
        "body": "P&L today -2,150.00 USD (-2.2%), limit -2%.", "created_at": AT,
        "strategy": "s1", "data": {"pnl": -2150.0}, "suppressed": 3, "id": 42,
    }  # fmt: skip
    return Alert(**(values | overrides))


def send(channel: Channel, message: Alert) -> str:
    return asyncio.run(channel.send(message))


def failure(channel: Channel, message: Alert) -> ChannelError:
    with pytest.raises(ChannelError) as caught:
        send(channel, message)
    return caught.value


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that takes connections and never says a word (a hung server)."""
    with socket.socket() as listener:
        listener.bind((HOST, 0))
        listener.listen(8)
        yield listener.getsockname()[1]


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[Callable[[], str]]:
    """Everything logged, through structlog and stdlib logging, as one text."""
    caplog.set_level(logging.DEBUG)
    with capture_logs() as events:
        yield lambda: repr(events) + caplog.text


# --- email ---------------------------------------------------------------------------


def test_email_goes_to_all_recipients_in_one_message_after_login(
    smtp_server: SmtpServer, logs: Callable[[], str]
) -> None:
    recipients = ("ops@example.com", "oncall@example.org")
    channel = EmailChannel(smtp_server.settings(recipients=recipients))

    receipt = send(channel, alert())

    [mail] = smtp_server.wait_for(1)
    assert receipt == "2.0.0 Message accepted for delivery"
    assert mail.rcpt_tos == list(recipients)
    assert mail.mail_from == "tradd@example.com"
    assert mail.message["To"] == "ops@example.com, oncall@example.org"
    assert mail.subject == "[tradd CRITICAL] Daily loss limit hit"
    assert "P&L today -2,150.00 USD (-2.2%), limit -2%." in mail.body
    assert "(3 similar alerts were suppressed since the last one)" in mail.body
    assert "alert #42" in mail.body
    assert "2024-05-02T14:30:00+00:00" in mail.body
    assert mail.message["Message-ID"] == "<tradd-alert-42-1714660200@example.com>"
    assert mail.login == smtp_server.username
    assert smtp_server.logins == [(smtp_server.username, True)]
    assert not mail.tls
    assert smtp_server.password not in logs()


def test_email_without_username_does_not_log_in_and_mentions_no_suppression(
    smtp_server: SmtpServer,
) -> None:
    channel = EmailChannel(smtp_server.settings(username="", password=None))

    send(channel, alert(severity="info", subject="Daily summary\r\nBcc: x@y.z", suppressed=0))

    [mail] = smtp_server.wait_for(1)
    assert mail.login is None
    assert smtp_server.logins == []
    assert mail.subject == "[tradd INFO] Daily summary Bcc: x@y.z"
    assert mail.message["Bcc"] is None
    assert "suppressed" not in mail.body


def test_email_wrong_password_is_permanent_and_secret(
    smtp_server: SmtpServer, logs: Callable[[], str]
) -> None:
    wrong = "wrong-" + smtp_server.password
    channel = EmailChannel(smtp_server.settings(password=SecretStr(wrong)))

    error = failure(channel, alert())

    assert not error.temporary
    assert "535" in str(error)
    assert set(smtp_server.logins) == {(smtp_server.username, False)}  # PLAIN, then LOGIN
    assert smtp_server.messages == []
    for text in (str(error), repr(error.__cause__), logs()):
        assert wrong not in text
        assert smtp_server.password not in text


@pytest.mark.parametrize(
    ("reply", "temporary"),
    [("451 4.3.0 Try again later", True), ("554 5.6.0 Message rejected", False)],
)
def test_email_refused_message_maps_4xx_to_temporary_and_5xx_to_permanent(
    smtp_server: SmtpServer, reply: str, temporary: bool
) -> None:
    channel = EmailChannel(smtp_server.settings())
    smtp_server.fail_next(1, reply)

    error = failure(channel, alert())

    assert error.temporary is temporary
    assert reply[:3] in str(error)
    send(channel, alert())  # the next attempt gets through
    assert len(smtp_server.wait_for(1)) == 1


def test_email_server_down_is_temporary_and_delivers_once_it_is_back(
    smtp_server: SmtpServer,
) -> None:
    channel = EmailChannel(smtp_server.settings())
    smtp_server.down()

    error = failure(channel, alert())

    assert error.temporary
    assert str(smtp_server.port) in str(error)
    smtp_server.up()
    send(channel, alert())
    assert [m.subject for m in smtp_server.wait_for(1)] == ["[tradd CRITICAL] Daily loss limit hit"]


def test_email_some_recipients_refused_is_delivered_to_the_rest(smtp_server: SmtpServer) -> None:
    smtp_server.refused_recipients["gone@example.com"] = "550 5.1.1 No such user"
    channel = EmailChannel(smtp_server.settings(recipients=("gone@example.com", "ops@example.com")))

    receipt = send(channel, alert())

    assert "refused: gone@example.com (550)" in receipt
    assert smtp_server.wait_for(1)[0].rcpt_tos == ["ops@example.com"]


@pytest.mark.parametrize(("reply", "temporary"), [("550 5.1.1 No such user", False),
                                                  ("450 4.2.1 Mailbox busy", True)])  # fmt: skip
def test_email_all_recipients_refused(smtp_server: SmtpServer, reply: str, temporary: bool) -> None:
    smtp_server.refused_recipients["ops@example.com"] = reply
    channel = EmailChannel(smtp_server.settings())

    error = failure(channel, alert())

    assert error.temporary is temporary
    assert "ops@example.com" in str(error)


def test_email_hung_server_times_out_as_temporary(silent_port: int) -> None:
    settings = SmtpServer().settings(port=silent_port, username="", password=None, timeout=0.3)

    error = failure(EmailChannel(settings), alert())

    assert error.temporary
    assert "timed out" in str(error)


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_email_over_tls_verifies_the_certificate(
    smtp_servers: Callable[..., SmtpServer], tls_certificate: TlsCertificate, security: str
) -> None:
    server = smtp_servers(security)  # AUTH only once encrypted

    send(EmailChannel(server.settings(), tls_context=tls_certificate.client_context()), alert())

    [mail] = server.wait_for(1)
    assert mail.tls
    assert mail.login == server.username
    untrusted = failure(EmailChannel(server.settings()), alert())  # system CAs: not trusted
    assert untrusted.temporary
    assert len(server.messages) == 1


def test_email_starttls_against_a_server_without_it_is_permanent(smtp_server: SmtpServer) -> None:
    error = failure(EmailChannel(smtp_server.settings(security="starttls")), alert())

    assert not error.temporary
    assert "STARTTLS" in str(error)
    assert smtp_server.messages == []


# --- SMS -----------------------------------------------------------------------------

A, B = "+15551230001", "+15551230002"


def test_sms_one_message_per_number_with_basic_auth_and_form_fields(
    twilio_server: TwilioServer, logs: Callable[[], str]
) -> None:
    channel = SmsChannel(twilio_server.settings(to=(A, B)))

    receipt = send(channel, alert())

    created = twilio_server.wait_for_messages(2)
    assert receipt == ", ".join(m["sid"] for m in created)
    assert all(m["sid"].startswith("SM") and m["status"] == "queued" for m in created)
    requests = twilio_server.requests
    assert [r.form["To"] for r in requests] == [A, B]
    for request in requests:
        assert request.method == "POST"
        assert request.path == f"/2010-04-01/Accounts/{twilio_server.account_sid}/Messages.json"
        assert request.basic_auth == (twilio_server.account_sid, twilio_server.auth_token)
        assert request.form["From"] == "+15005550006"
        assert "MessagingServiceSid" not in request.form
        assert request.form["Body"] == sms_text(alert())
    head = "tradd CRITICAL [s1] Daily loss limit hit (+3 suppressed) #42: P&L today"
    assert requests[0].form["Body"].startswith(head)
    assert twilio_server.auth_token not in logs()


def test_sms_through_a_messaging_service(twilio_server: TwilioServer) -> None:
    settings = twilio_server.settings(from_number="", messaging_service_sid=twilio_server.service)

    send(SmsChannel(settings), alert())

    [request] = twilio_server.requests
    assert request.form["MessagingServiceSid"] == twilio_server.service
    assert "From" not in request.form
    assert twilio_server.wait_for_messages(1)[0]["status"] == "accepted"


def test_sms_text_is_short() -> None:
    text = sms_text(alert(body="x " * 1000, strategy=None, suppressed=0, id=None))

    assert SMS_LIMIT - 3 <= len(text) <= SMS_LIMIT
    assert text.startswith("tradd CRITICAL Daily loss limit hit: x x")
    assert text.endswith("...")


def test_sms_bad_credentials_are_permanent_and_secret(
    twilio_server: TwilioServer, logs: Callable[[], str]
) -> None:
    wrong = "f" * 32
    channel = SmsChannel(twilio_server.settings(auth_token=SecretStr(wrong)))

    error = failure(channel, alert())

    assert not error.temporary
    assert "HTTP 401 code 20003" in str(error)
    assert twilio_server.requests[0].basic_auth == (twilio_server.account_sid, wrong)
    for text in (str(error), logs()):
        assert wrong not in text
        assert twilio_server.auth_token not in text


@pytest.mark.parametrize(
    ("setup", "code"),
    [
        (lambda server: server.invalid.add(A), 21211),
        (lambda server: server.numbers.clear(), 21606),
    ],
    ids=["invalid-to", "from-not-ours"],
)
def test_sms_refused_request_is_permanent(
    twilio_server: TwilioServer, setup: Callable[[TwilioServer], None], code: int
) -> None:
    settings = twilio_server.settings()
    setup(twilio_server)

    error = failure(SmsChannel(settings), alert())

    assert not error.temporary
    assert f"HTTP 400 code {code}" in str(error)
    assert twilio_server.messages == []


@pytest.mark.parametrize("status", [429, 500, 503])
def test_sms_overloaded_twilio_is_temporary(twilio_server: TwilioServer, status: int) -> None:
    channel = SmsChannel(twilio_server.settings())
    twilio_server.fail_next(1, status)

    error = failure(channel, alert())

    assert error.temporary
    assert f"HTTP {status}" in str(error)
    send(channel, alert())
    assert len(twilio_server.wait_for_messages(1)) == 1


def test_sms_twilio_unreachable_is_temporary(twilio_server: TwilioServer) -> None:
    channel = SmsChannel(twilio_server.settings())
    twilio_server.down()

    error = failure(channel, alert())

    assert error.temporary
    assert "ConnectionError" in str(error)
    twilio_server.up()
    send(channel, alert())
    assert len(twilio_server.wait_for_messages(1)) == 1


def test_sms_hung_twilio_times_out_as_temporary(
    twilio_server: TwilioServer, silent_port: int
) -> None:
    settings = twilio_server.settings(api_base_url=f"http://{HOST}:{silent_port}", timeout=0.3)

    error = failure(SmsChannel(settings), alert())

    assert error.temporary
    assert "timed out" in str(error) or "Timeout" in str(error)


def test_sms_retry_texts_only_the_numbers_that_failed(twilio_server: TwilioServer) -> None:
    channel = SmsChannel(twilio_server.settings(to=(A, B)))
    twilio_server.fail_next(1, 503, match=lambda r: r.form.get("To") == B)

    error = failure(channel, alert())
    assert error.temporary
    assert B in str(error)
    assert A not in str(error)
    receipt = send(channel, alert())

    assert [r.form["To"] for r in twilio_server.requests] == [A, B, B]
    created = twilio_server.wait_for_messages(2)
    assert sorted(m["to"] for m in created) == [A, B]
    assert receipt == ", ".join(m["sid"] for m in created)
    send(channel, alert(id=43))  # another alert: everyone again
    assert [m["to"] for m in twilio_server.wait_for_messages(4)[2:]] == [A, B]


def test_sms_one_number_refused_for_good_fails_the_delivery_after_the_rest(
    twilio_server: TwilioServer,
) -> None:
    twilio_server.invalid.add(A)

    error = failure(SmsChannel(twilio_server.settings(to=(A, B))), alert())

    assert not error.temporary
    assert "sent to 1" in str(error)
    assert "21211" in str(error)
    assert [m["to"] for m in twilio_server.wait_for_messages(1)] == [B]


# --- webhook -------------------------------------------------------------------------


def test_webhook_posts_the_alert_as_json(
    webhook_server: WebhookServer, logs: Callable[[], str]
) -> None:
    channel = WebhookChannel(webhook_server.settings())

    receipt = send(channel, alert())

    assert receipt == "HTTP 200"
    [request] = webhook_server.wait_for(1)
    assert request.headers["content-type"] == "application/json"
    document = request.json()
    assert document == {
        "kind": "daily_loss", "severity": "critical", "subject": "Daily loss limit hit",
        "body": "P&L today -2,150.00 USD (-2.2%), limit -2%.", "strategy": "s1",
        "created_at": "2024-05-02T14:30:00+00:00", "suppressed": 3, "id": 42,
        "data": {"pnl": -2150.0}, "text": document["text"],
    }  # fmt: skip
    assert document["text"].startswith("[tradd CRITICAL] Daily loss limit hit\n")
    assert webhook_server.token not in logs()
    assert channel.host == f"{HOST}:{webhook_server.port}"


@pytest.mark.parametrize(
    ("status", "temporary"), [(500, True), (503, True), (429, True), (400, False),
                              (403, False), (302, False)],
)  # fmt: skip
def test_webhook_status_mapping(
    webhook_server: WebhookServer, status: int, temporary: bool
) -> None:
    channel = WebhookChannel(webhook_server.settings())
    webhook_server.fail_next(1, status)

    error = failure(channel, alert())

    assert error.temporary is temporary
    assert f"HTTP {status}" in str(error)
    assert webhook_server.token not in str(error)  # the receiver echoed the path
    assert "***" in str(error)
    assert send(channel, alert()) == "HTTP 200"
    assert len(webhook_server.payloads) == 2


def test_webhook_wrong_url_is_permanent(webhook_server: WebhookServer) -> None:
    url = f"{webhook_server.base_url}/hooks/not-the-token"

    error = failure(WebhookChannel(webhook_server.settings(url=SecretStr(url))), alert())

    assert not error.temporary
    assert "HTTP 404" in str(error)
    assert "not-the-token" not in str(error)


def test_webhook_unreachable_and_hung_are_temporary(
    webhook_server: WebhookServer, silent_port: int
) -> None:
    webhook_server.down()
    down = failure(WebhookChannel(webhook_server.settings()), alert())
    hung_url = SecretStr(f"http://{HOST}:{silent_port}/hooks/{webhook_server.token}")
    hung = failure(WebhookChannel(webhook_server.settings(url=hung_url, timeout=0.3)), alert())

    assert down.temporary
    assert hung.temporary
    assert "timed out" in str(hung)
    for error in (down, hung):
        assert webhook_server.token not in str(error)
        assert error.__cause__ is None and error.__suppress_context__


# --- all -----------------------------------------------------------------------------


def test_build_channels_makes_the_enabled_ones(
    smtp_server: SmtpServer, webhook_server: WebhookServer, twilio_server: TwilioServer
) -> None:
    settings = AlertSettings(email=smtp_server.settings(), webhook=webhook_server.settings())

    channels = build_channels(settings)

    assert sorted(channels) == ["email", "webhook"]
    assert all(channels[name].name == name for name in channels)
    everything = build_channels(settings.model_copy(update={"sms": twilio_server.settings()}))
    assert isinstance(everything["sms"], SmsChannel)
    assert build_channels(AlertSettings()) == {}
    for channel in everything.values():
        send(channel, alert())
    assert len(smtp_server.wait_for(1)) == 1
    assert len(twilio_server.wait_for_messages(1)) == 1
    assert len(webhook_server.wait_for(1)) == 1
