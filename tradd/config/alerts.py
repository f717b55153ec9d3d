"""Settings of the alert router and its channels (`[alerts]`).

Secrets (the SMTP password, the Twilio auth token, a webhook URL with its token) are
`SecretStr` and belong in the environment or `.env` (`TRADD_ALERTS__EMAIL__PASSWORD`,
`TRADD_ALERTS__SMS__AUTH_TOKEN`, `TRADD_ALERTS__WEBHOOK__URL`), never in the file.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator

from tradd.config.base import Section
from tradd.records.events import EventKind

EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>.][^@\s,;<>]*$")
PHONE = re.compile(r"^\+[1-9][0-9]{6,14}$")
"""E.164, as Twilio wants it: +, country code, number, no spaces."""
ChannelName = Literal["email", "sms", "webhook"]
ALERT_KINDS = tuple(str(kind) for kind in EventKind)
"""Every kind of alert tradd raises (`[alerts.events]` keys must be one of them): the
kinds of the events workers and the supervisor raise (tradd.records.events)."""


class ChannelBase(Section):
    enabled: bool = False
    rate_limit: int = Field(20, ge=1)
    """At most this many messages per `rate_window` seconds on this channel; more wait."""
    rate_window: float = Field(60.0, gt=0)
    timeout: float = Field(15.0, gt=0)
    """One send attempt may take this long, then it counts as failed (and is retried)."""


class EmailSettings(ChannelBase):
    host: str = "localhost"
    port: int = Field(587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    """starttls: plain connection upgraded (port 587); tls: TLS from the start (465)."""
    username: str = ""
    password: SecretStr | None = None
    sender: str = "tradd@localhost"
    recipients: tuple[str, ...] = ()

    @field_validator("sender")
    @classmethod
    def _sender(cls, value: str) -> str:
        if not EMAIL.match(value):
            raise ValueError(f"not an email address: {value!r}")
        return value

    @field_validator("recipients")
    @classmethod
    def _recipients(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [v for v in value if not EMAIL.match(v)]
        if bad:
            raise ValueError(f"not email addresses: {bad}")
        return value

    @model_validator(mode="after")
    def _complete(self) -> EmailSettings:
        if self.enabled and not self.recipients:
            raise ValueError("alerts.email.recipients: empty, but the channel is enabled")
        if self.enabled and self.username and self.password is None:
            raise ValueError("alerts.email.password: missing (set TRADD_ALERTS__EMAIL__PASSWORD)")
        return self


class SmsSettings(ChannelBase):
    rate_limit: int = Field(5, ge=1)
    account_sid: str = ""
    auth_token: SecretStr | None = None
    from_number: str = ""
    messaging_service_sid: str = ""
    """Send through a Messaging Service instead of `from_number`."""
    to: tuple[str, ...] = ()
    api_base_url: str = "https://api.twilio.com"
    """Twilio's API; a rehearsal or test points this at a local stand-in."""

    @field_validator("to")
    @classmethod
    def _to(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [v for v in value if not PHONE.match(v)]
        if bad:
            raise ValueError(f"not E.164 phone numbers (+15551234567): {bad}")
        return value

    @field_validator("from_number")
    @classmethod
    def _from(cls, value: str) -> str:
        if value and not PHONE.match(value):
            raise ValueError(f"not an E.164 phone number (+15551234567): {value!r}")
        return value

    @model_validator(mode="after")
    def _complete(self) -> SmsSettings:
        if not self.enabled:
            return self
        if not self.account_sid.startswith("AC"):
            raise ValueError(
                f"alerts.sms.account_sid: {self.account_sid!r} is not an account SID (AC...)"
            )
        if self.auth_token is None:
            raise ValueError("alerts.sms.auth_token: missing (set TRADD_ALERTS__SMS__AUTH_TOKEN)")
        if bool(self.from_number) == bool(self.messaging_service_sid):
            raise ValueError("alerts.sms: set exactly one of from_number and messaging_service_sid")
        if not self.to:
            raise ValueError("alerts.sms.to: empty, but the channel is enabled")
        return self


class WebhookSettings(ChannelBase):
    url: SecretStr | None = None
    """Chat tools put their token in the URL, hence secret."""

    @model_validator(mode="after")
    def _complete(self) -> WebhookSettings:
        if not self.enabled:
            return self
        if self.url is None:
            raise ValueError("alerts.webhook.url: missing (set TRADD_ALERTS__WEBHOOK__URL)")
        if not self.url.get_secret_value().startswith(("http://", "https://")):
            raise ValueError("alerts.webhook.url: must be an http:// or https:// URL")
        return self


class SummarySettings(Section):
    enabled: bool = True
    time: dt.time = dt.time(16, 30)
    """When the daily P&L summary goes out, on trading days (Monday to Friday)."""
    timezone: str = "US/Eastern"
    """The exchange's zone: it also says which calendar day the summary is about."""

    @field_validator("time")
    @classmethod
    def _local(cls, value: dt.time) -> dt.time:
        if value.tzinfo is not None:
            raise ValueError("a local time without offset (the zone is `timezone`)")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value


def _default_routes() -> dict[str, tuple[ChannelName, ...]]:
    return {
        "critical": ("sms", "email", "webhook"),
        "warning": ("email", "webhook"),
        "info": ("email",),
    }


class AlertSettings(Section):
    enabled: bool = True
    routes: dict[str, tuple[ChannelName, ...]] = Field(default_factory=_default_routes)
    """Severity -> channels."""
    events: dict[str, tuple[ChannelName, ...]] = Field(default_factory=dict)
    """Event kind -> channels, overriding the severity's route ([] mutes a kind)."""
    dedup_window: float = Field(300.0, ge=0)
    """The same alert (kind, strategy, rule...) again within this many seconds is counted,
    not sent; the count goes out with the next one."""
    daily_loss: float | None = Field(None, gt=0)
    """Alert (once a day) when the account's P&L today falls below minus this much."""
    daily_loss_pct: float | None = Field(2.0, gt=0, le=100)
    """... or below minus this % of the day's starting equity."""
    retry_initial: float = Field(5.0, gt=0)
    retry_max: float = Field(300.0, gt=0)
    email: EmailSettings = EmailSettings()
    sms: SmsSettings = SmsSettings()
    webhook: WebhookSettings = WebhookSettings()
    summary: SummarySettings = SummarySettings()

    @field_validator("daily_loss", "daily_loss_pct", mode="before")
    @classmethod
    def _off(cls, value: object) -> object:
        return None if value == "off" else value

    @field_validator("events")
    @classmethod
    def _kinds(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        unknown = sorted(set(value) - set(ALERT_KINDS))
        if unknown:
            raise ValueError(f"unknown alert kinds {unknown}: one of {', '.join(ALERT_KINDS)}")
        return value

    @field_validator("routes")
    @classmethod
    def _severities(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        unknown = sorted(set(value) - {"info", "warning", "critical"})
        if unknown:
            raise ValueError(f"unknown severities {unknown}: use info, warning, critical")
        return value

    def enabled_channels(self) -> tuple[ChannelName, ...]:
        chosen = (("email", self.email), ("sms", self.sms), ("webhook", self.webhook))
        return tuple(name for name, c in chosen if c.enabled)  # type: ignore[misc]
