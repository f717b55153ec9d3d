"""The webhook channel: the alert as a JSON POST, for chat tools and anything else.

The body has the alert's fields (kind, severity, subject, body, strategy, created_at,
suppressed, id, data) plus `text`, a ready-made line that Slack- and Mattermost-style
incoming webhooks display as is.

Error mapping: a 2xx is delivered; 5xx, 429 and 408, no connection or a timeout are
temporary; any other status (3xx: redirects are not followed, 4xx) is permanent.

The URL usually holds the chat tool's token, so only its host is ever logged or put in
an error message.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import structlog

from tradd.alerts.model import Alert, ChannelError
from tradd.config.alerts import WebhookSettings

log = structlog.get_logger("tradd.alerts.webhook")

TEMPORARY_STATUS = frozenset({408, 429})
"""Besides 5xx: the other end is busy, try again later."""


def payload(alert: Alert) -> dict[str, Any]:
    """The JSON document posted for `alert`."""
    text = f"[tradd {alert.severity.upper()}] {alert.subject}\n{alert.body}"
    if alert.suppressed > 0:
        text += f"\n({alert.suppressed} similar alerts were suppressed since the last one)"
    return {
        "kind": alert.kind,
        "severity": alert.severity,
        "subject": alert.subject,
        "body": alert.body,
        "strategy": alert.strategy,
        "created_at": alert.created_at.isoformat(),
        "suppressed": alert.suppressed,
        "id": alert.id,
        "data": alert.data,
        "text": text,
    }


class WebhookChannel:
    """POSTs alerts as JSON to one URL."""

    name = "webhook"

    def __init__(self, settings: WebhookSettings) -> None:
        if settings.url is None:
            raise ValueError("alerts.webhook.url is not set")
        self._settings = settings
        self._url = settings.url.get_secret_value()
        self.host = urlsplit(self._url).netloc.rpartition("@")[2]
        """Where alerts go, safe to show (no path, query or credentials)."""

    async def send(self, alert: Alert) -> str:
        """POST `alert`; returns "HTTP <status>" from the receiver."""
        # default=str: `data` comes from events and may hold a Decimal or a datetime.
        document = json.dumps(payload(alert), default=str)
        timeout = aiohttp.ClientTimeout(total=self._settings.timeout)
        headers = {"Content-Type": "application/json", "User-Agent": "tradd-alerts"}
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.post(
                    self._url, data=document, headers=headers, allow_redirects=False
                ) as response,
            ):
                status = response.status
                reply = (await response.text(errors="replace"))[:200]
        except TimeoutError:
            raise ChannelError(f"webhook {self.host}: timed out", temporary=True) from None
        except aiohttp.InvalidURL:
            raise ChannelError(f"webhook {self.host}: invalid URL", temporary=False) from None
        except (aiohttp.ClientError, OSError) as exc:
            # aiohttp's messages can quote the URL: name the failure, not the text.
            why = getattr(exc, "strerror", None)
            what = f"{type(exc).__name__}: {why}" if why else type(exc).__name__
            raise ChannelError(f"webhook {self.host}: {what}", temporary=True) from None
        if 200 <= status < 300:
            log.info("webhook_sent", alert=alert.id, host=self.host, status=status)
            return f"HTTP {status}"
        temporary = status >= 500 or status in TEMPORARY_STATUS
        reply = " ".join(self._scrub(reply).split())
        raise ChannelError(f"webhook {self.host}: HTTP {status} {reply}", temporary=temporary)

    def _scrub(self, text: str) -> str:
        """Remove the URL, and its path (where tokens live), from a receiver's reply."""
        parts = urlsplit(self._url)
        for secret in (self._url, parts.path, parts.query):
            if len(secret) > 1:
                text = text.replace(secret, "***")
        return text
