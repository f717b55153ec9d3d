"""Headers every answer carries, and the body size limit, as one plain ASGI middleware
(cheaper per request than Starlette's BaseHTTPMiddleware, which matters for polling).

The Content-Security-Policy allows scripts and styles from this origin only: no inline
script, no `eval`, no CDN. Framing is denied twice over (CSP and X-Frame-Options).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.exceptions import HTTPException

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
API_NO_STORE = (b"cache-control", b"no-store")


class BodyTooLarge(HTTPException):
    """Raised by `receive` once a body (chunked, or longer than it said) passes the limit.
    An HTTPException, because FastAPI re-raises those when reading a body fails (anything
    else becomes its 400 "There was an error parsing the body"): the app answers 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, too_large(limit))


def too_large(limit: int) -> str:
    return f"request body over {limit} bytes ([web] max_body_bytes)"


class Hardened:
    def __init__(self, app: ASGIApp, max_body: int, hsts: bool) -> None:
        self.inner = app
        """The wrapped application (its routes, for the tests that enumerate them)."""
        self._app, self._max_body = app, max_body
        self._headers = HEADERS + ([(b"strict-transport-security", b"max-age=31536000")]
                                   if hsts else [])  # fmt: skip

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self._max_body:
            await self._refuse(send)
            return
        started = False
        api = str(scope.get("path", "")).startswith("/api/")

        async def send_hardened(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", []), *self._headers,
                                      *([API_NO_STORE] if api else [])]  # fmt: skip
            await send(message)

        seen = 0

        async def receive_limited() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self._max_body:
                raise BodyTooLarge(self._max_body)
            return message

        try:
            await self._app(scope, receive_limited, send_hardened)
        except BodyTooLarge:
            if not started:
                await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        body = json.dumps({"detail": too_large(self._max_body)}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    *self._headers,
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
