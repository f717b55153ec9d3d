"""The enabled channels, built from the settings, for the dispatcher to send through.

Each channel's client library is imported only when that channel is enabled: twilio (with
requests) and aiohttp weigh tens of MB in a supervisor that may never use them.
"""

from __future__ import annotations

from tradd.alerts.model import Channel
from tradd.config.alerts import AlertSettings


def build_channels(settings: AlertSettings) -> dict[str, Channel]:
    """Channel name -> channel, for each enabled one (the settings are validated, so an
    enabled channel has what it needs)."""
    channels: dict[str, Channel] = {}
    if settings.email.enabled:
        from tradd.alerts.email import EmailChannel

        channels["email"] = EmailChannel(settings.email)
    if settings.sms.enabled:
        from tradd.alerts.sms import SmsChannel

        channels["sms"] = SmsChannel(settings.sms)
    if settings.webhook.enabled:
        from tradd.alerts.webhook import WebhookChannel

        channels["webhook"] = WebhookChannel(settings.webhook)
    return channels
