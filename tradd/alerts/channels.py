"""The enabled channels, built from the settings, for the dispatcher to send through."""

from __future__ import annotations

from tradd.alerts.email import EmailChannel
from tradd.alerts.model import Channel
from tradd.alerts.sms import SmsChannel
from tradd.alerts.webhook import WebhookChannel
from tradd.config.alerts import AlertSettings


def build_channels(settings: AlertSettings) -> dict[str, Channel]:
    """Channel name -> channel, for each enabled one (the settings are validated, so an
    enabled channel has what it needs)."""
    channels: dict[str, Channel] = {}
    if settings.email.enabled:
        channels["email"] = EmailChannel(settings.email)
    if settings.sms.enabled:
        channels["sms"] = SmsChannel(settings.sms)
    if settings.webhook.enabled:
        channels["webhook"] = WebhookChannel(settings.webhook)
    return channels
