"""The SMS channel: one short text per alert to every configured number, through Twilio.

The twilio library is synchronous (requests), so each message is created in a worker
thread; each HTTP request is bounded by the channel's timeout, and so is the whole send.

Error mapping: Twilio answering 5xx or 429 (overloaded, rate limited), no connection or a
timeout are temporary; any other 4xx (401 bad credentials, 400 21211 invalid `To`, 21606
`From` not ours...) is permanent: the same request will be refused again.

Partial delivery: a send goes to each number in turn, and the channel remembers, per
alert id, which numbers Twilio accepted (and which it refused for good). A retry of the
same alert sends only to the numbers still outstanding, so nobody gets the same alert
twice from one process. The outcome of a send is:
- every number accepted (now or on an earlier attempt): success, the message SIDs;
- any number failed temporarily: temporary ChannelError (retry: only those numbers);
- otherwise some number refused for good: permanent ChannelError naming who got it.
The memory lives in the channel object (bounded; lost on restart, when a retry may text
again the numbers that had it) and only alerts with an id are tracked. A timeout can
leave a request in flight whose result is unknown: that number counts as not done.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass, field
from types import MappingProxyType

import structlog
from twilio.base.exceptions import TwilioException  # type: ignore[import-untyped]
from twilio.http.http_client import TwilioHttpClient  # type: ignore[import-untyped]
from twilio.rest import Client  # type: ignore[import-untyped]

from tradd.alerts.model import Alert, ChannelError
from tradd.config.alerts import SmsSettings

log = structlog.get_logger("tradd.alerts.sms")

SMS_LIMIT = 300
"""Characters in one alert text: two or three SMS segments, enough to act on."""
TRACKED = 1000
"""Alerts whose per-number progress is remembered (the oldest is forgotten first)."""
_NO_ENVIRONMENT = MappingProxyType({"TRADD": "settings"})
"""tradd's settings configure the client, not TWILIO_* variables (TWILIO_REGION would
rewrite the API host); twilio falls back to os.environ when given an empty mapping."""


def sms_text(alert: Alert) -> str:
    """Severity, strategy, subject, what was held back, then as much body as fits."""
    head = f"tradd {alert.severity.upper()}"
    if alert.strategy:
        head += f" [{alert.strategy}]"
    head += f" {alert.subject}"
    if alert.suppressed > 0:
        head += f" (+{alert.suppressed} suppressed)"
    if alert.id is not None:
        head += f" #{alert.id}"
    text = " ".join(f"{head}: {alert.body}".split())
    if len(text) <= SMS_LIMIT:
        return text
    return text[: SMS_LIMIT - 3].rstrip() + "..."


@dataclass
class _Progress:
    sent: dict[str, str] = field(default_factory=dict)
    """Number -> message SID."""
    refused: dict[str, str] = field(default_factory=dict)
    """Number -> why Twilio refused it for good."""


class _Refusal(Exception):
    def __init__(self, reason: str, *, temporary: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.temporary = temporary


class SmsChannel:
    """Sends alerts as SMS through Twilio's Messages API (from a number or a Messaging
    Service)."""

    name = "sms"

    def __init__(self, settings: SmsSettings) -> None:
        self._settings = settings
        self._progress: OrderedDict[int, _Progress] = OrderedDict()

    async def send(self, alert: Alert) -> str:
        """Text every number not yet done for this alert; returns the message SIDs."""
        progress = self._progress_of(alert)
        done = progress.sent | progress.refused
        pending = [n for n in self._settings.to if n not in done]
        retry: dict[str, str] = {}
        body = sms_text(alert)
        try:
            async with asyncio.timeout(self._settings.timeout):
                for number in pending:
                    try:
                        progress.sent[number] = await asyncio.to_thread(self._create, number, body)
                    except _Refusal as refusal:
                        (retry if refusal.temporary else progress.refused)[number] = refusal.reason
        except TimeoutError:
            for number in pending:
                if number not in progress.sent and number not in progress.refused:
                    retry.setdefault(number, "timed out")
        return self._outcome(alert, progress, retry)

    def _progress_of(self, alert: Alert) -> _Progress:
        if alert.id is None:
            return _Progress()
        progress = self._progress.setdefault(alert.id, _Progress())
        self._progress.move_to_end(alert.id)
        while len(self._progress) > TRACKED:
            self._progress.popitem(last=False)
        return progress

    def _outcome(self, alert: Alert, progress: _Progress, retry: dict[str, str]) -> str:
        sent, refused = progress.sent, progress.refused
        if retry or refused:
            log.warning(
                "sms_not_delivered", alert=alert.id, sent=len(sent),
                retry=sorted(retry), refused=sorted(refused),
            )  # fmt: skip
        if retry:
            failed = "; ".join(f"{n}: {why}" for n, why in retry.items())
            raise ChannelError(
                f"SMS to {len(retry)} of {len(self._settings.to)} numbers failed, "
                f"will retry: {failed}",
                temporary=True,
            )
        if alert.id is not None:
            self._progress.pop(alert.id, None)
        if refused:
            failed = "; ".join(f"{n}: {why}" for n, why in refused.items())
            raise ChannelError(
                f"SMS refused for {len(refused)} of {len(self._settings.to)} numbers "
                f"(sent to {len(sent)}): {failed}",
                temporary=False,
            )
        log.info("sms_sent", alert=alert.id, numbers=len(sent))
        return ", ".join(sent[n] for n in self._settings.to if n in sent)

    def _create(self, number: str, body: str) -> str:
        """One Messages API call (in a worker thread); returns the message SID."""
        s = self._settings
        token = s.auth_token.get_secret_value() if s.auth_token is not None else ""
        http = TwilioHttpClient(timeout=s.timeout)
        client = Client(s.account_sid, token, http_client=http, environment=_NO_ENVIRONMENT)
        client.api.base_url = s.api_base_url
        sender = (
            {"messaging_service_sid": s.messaging_service_sid}
            if s.messaging_service_sid
            else {"from_": s.from_number}
        )
        try:
            message = client.messages.create(to=number, body=body, **sender)
        except TwilioException as exc:
            raise _twilio_refusal(exc, token) from None
        except OSError as exc:  # requests' ConnectionError, Timeout... are OSErrors
            raise _Refusal(f"{type(exc).__name__} talking to Twilio", temporary=True) from None
        finally:
            http.session.close()
        return str(message.sid)


def _twilio_refusal(exc: TwilioException, token: str) -> _Refusal:
    """TwilioRestException (legacy JSON errors) and TwilioServiceException (RFC 9457)
    both carry the HTTP status and Twilio's error code; `str()` would add ANSI colours."""
    status = int(getattr(exc, "status", 0) or 0)
    code = getattr(exc, "code", None)
    text = getattr(exc, "msg", None) or getattr(exc, "title", None) or type(exc).__name__
    reason = f"HTTP {status} code {code}: {text}"
    if token:
        reason = reason.replace(token, "***")
    return _Refusal(reason, temporary=status == 429 or status >= 500 or status == 0)
