"""The email channel: one plain-text message per alert to all recipients, over SMTP.

Error mapping (what the outbox retries): no connection, a timeout, a dropped connection
and every 4xx reply are temporary. A 5xx reply to the sender, the recipients (all of them)
or the message is permanent: the same message to the same server will be refused again.
Authentication refused with a 5xx (535 bad credentials, 534/530 mechanism or policy) is
permanent too: the credentials come from the settings, which do not change while tradd
runs, so retrying every few minutes cannot succeed and repeated failed logins can get the
account locked; fixing them needs a restart anyway, and the alert's other channels still
go out. A 454 (temporary authentication failure) is retried like any 4xx. A server that
does not offer STARTTLS or AUTH as configured is a permanent configuration error.

The password is only handed to aiosmtplib; it never appears in a message, a log line or
an error (server replies are scrubbed of it, just in case one echoes it).
"""

from __future__ import annotations

import asyncio
import email.utils
import os
import ssl
from email.message import EmailMessage

import aiosmtplib
import structlog

from tradd.alerts.model import Alert, ChannelError
from tradd.config.alerts import EmailSettings

log = structlog.get_logger("tradd.alerts.email")


def subject_line(alert: Alert) -> str:
    """The Subject header: severity first so a mail filter (or a glance) can sort them."""
    subject = " ".join(alert.subject.split())  # a header must not hold line breaks
    return f"[tradd {alert.severity.upper()}] {subject}"


def body_text(alert: Alert) -> str:
    """The plain-text body: the alert, what was held back, and where to look it up."""
    lines = [alert.body.rstrip(), ""]
    if alert.suppressed > 0:
        lines += [f"({alert.suppressed} similar alerts were suppressed since the last one)", ""]
    about = [f"alert #{alert.id}" if alert.id is not None else "alert", alert.severity, alert.kind]
    if alert.strategy:
        about.append(f"strategy {alert.strategy}")
    lines += ["-- ", " | ".join(about), f"at {alert.created_at.isoformat()}", ""]
    return "\n".join(lines)


REPORT_MAX_BYTES = 10 * 1024 * 1024
"""The largest HTML report attached (a bigger one is named in the body, not sent)."""


def attach_report(message: EmailMessage, alert: Alert) -> None:
    """Attach the self-contained HTML report an alert names (`data["report_html"]`: a
    scheduled job's), read at send time from the job's directory."""
    path = alert.data.get("report_html")
    if not isinstance(path, str):
        return
    try:
        with open(path, "rb") as report:
            content = report.read(REPORT_MAX_BYTES + 1)
    except OSError as exc:
        log.warning("email_report_unreadable", alert=alert.id, path=path, error=str(exc))
        return
    if len(content) > REPORT_MAX_BYTES:
        return
    name = os.path.basename(path)
    message.add_attachment(content, maintype="text", subtype="html", filename=name)


class EmailChannel:
    """Sends alerts by email with aiosmtplib (STARTTLS, implicit TLS or plain)."""

    name = "email"

    def __init__(
        self, settings: EmailSettings, *, tls_context: ssl.SSLContext | None = None
    ) -> None:
        """`tls_context` replaces the system's trust store, for a private CA (or a test's
        self-signed certificate); certificates are always verified."""
        self._settings = settings
        self._tls_context = tls_context

    def compose(self, alert: Alert) -> EmailMessage:
        s = self._settings
        message = EmailMessage()
        message["From"] = s.sender
        message["To"] = ", ".join(s.recipients)
        message["Subject"] = subject_line(alert)
        message["Date"] = email.utils.format_datetime(alert.created_at)
        domain = s.sender.rpartition("@")[2]
        if alert.id is not None:
            # Stable across retries, so a mail client can fold a duplicate sent after an
            # ambiguous failure (timeout after the server took the message).
            stamp = int(alert.created_at.timestamp())
            message["Message-ID"] = f"<tradd-alert-{alert.id}-{stamp}@{domain}>"
        else:
            message["Message-ID"] = email.utils.make_msgid("tradd-alert", domain=domain)
        message["X-Tradd-Severity"] = alert.severity
        message["X-Tradd-Kind"] = alert.kind
        message.set_content(body_text(alert))
        attach_report(message, alert)
        return message

    async def send(self, alert: Alert) -> str:
        """Deliver `alert` to every recipient in one SMTP transaction; returns the
        server's reply to the message (plus the recipients it refused, if some were)."""
        s = self._settings
        try:
            async with asyncio.timeout(s.timeout):
                refused, reply = await aiosmtplib.send(
                    self.compose(alert),
                    sender=s.sender,
                    recipients=list(s.recipients),
                    hostname=s.host,
                    port=s.port,
                    username=s.username or None,
                    password=self._password(),
                    use_tls=s.security == "tls",
                    start_tls=s.security == "starttls",
                    tls_context=self._tls_context,
                    timeout=s.timeout,
                )
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise self._error(exc) from None
        receipt = self._scrub(reply)
        if refused:
            # Some took it: sending again would duplicate it for them, so this is a
            # success, with the refused ones in the receipt and the log.
            bad = ", ".join(f"{rcpt} ({r.code})" for rcpt, r in sorted(refused.items()))
            log.warning("email_recipients_refused", alert=alert.id, refused=bad)
            receipt = f"{receipt}; refused: {bad}"
        log.info("email_sent", alert=alert.id, host=s.host, recipients=len(s.recipients))
        return receipt

    def _password(self) -> str | None:
        s = self._settings
        if not s.username or s.password is None:
            return None
        return s.password.get_secret_value()

    def _scrub(self, text: str) -> str:
        password = self._password()
        return text.replace(password, "***") if password else text

    def _error(self, exc: BaseException) -> ChannelError:
        """The ChannelError for a failed send (see the module docstring)."""
        where = f"{self._settings.host}:{self._settings.port}"
        if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
            codes = [r.code for r in exc.recipients]
            replies = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
            return ChannelError(
                self._scrub(f"SMTP {where} refused all recipients: {replies}"),
                temporary=any(code < 500 for code in codes),
            )
        if isinstance(exc, aiosmtplib.SMTPResponseException):
            what = "login" if isinstance(exc, aiosmtplib.SMTPAuthenticationError) else "reply"
            return ChannelError(
                self._scrub(f"SMTP {where} {what}: {exc.code} {exc.message}"),
                temporary=exc.code < 500,
            )
        if isinstance(exc, (aiosmtplib.SMTPTimeoutError, TimeoutError)):
            return ChannelError(f"SMTP {where}: timed out", temporary=True)
        if isinstance(exc, (aiosmtplib.SMTPConnectError, aiosmtplib.SMTPServerDisconnected)):
            return ChannelError(self._scrub(f"SMTP {where}: {exc}"), temporary=True)
        if isinstance(exc, OSError):
            return ChannelError(f"SMTP {where}: {type(exc).__name__}: {exc}", temporary=True)
        # STARTTLS or AUTH not offered, SMTPUTF8 missing: the settings do not fit the server.
        return ChannelError(self._scrub(f"SMTP {where}: {exc}"), temporary=False)
