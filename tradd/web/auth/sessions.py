"""Browser sessions and the login rate limit, held in the console's memory.

A session is 32 random bytes in an HttpOnly, SameSite=Strict cookie; its CSRF token,
another 32, must come back as `X-CSRF-Token` on every state-changing request. Sessions
live in this process only: restarting the console logs everyone out, which is the safe
direction. A session opened before the user's last password change is refused.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

COOKIE = "tradd_session"
CSRF_HEADER = "X-CSRF-Token"


@dataclass(frozen=True)
class Session:
    user: str
    csrf: str
    created_at: datetime
    expires_at: datetime


class SessionStore:
    def __init__(self, lifetime: timedelta, clock: Callable[[], datetime]) -> None:
        self._lifetime, self._clock = lifetime, clock
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def open(self, user: str) -> tuple[str, Session]:
        now = self._clock()
        key = secrets.token_urlsafe(32)
        session = Session(user, secrets.token_urlsafe(32), now, now + self._lifetime)
        with self._lock:
            self._drop_expired(now)
            self._sessions[key] = session
        return key, session

    def get(self, key: str | None) -> Session | None:
        if not key:
            return None
        with self._lock:
            session = self._sessions.get(key)
            if session is not None and session.expires_at <= self._clock():
                del self._sessions[key]
                return None
            return session

    def close(self, key: str | None) -> None:
        with self._lock:
            self._sessions.pop(key or "", None)

    def close_user(self, user: str) -> None:
        with self._lock:
            for key in [k for k, s in self._sessions.items() if s.user == user]:
                del self._sessions[key]

    def _drop_expired(self, now: datetime) -> None:
        for key in [k for k, s in self._sessions.items() if s.expires_at <= now]:
            del self._sessions[key]


def csrf_matches(session: Session, sent: str | None) -> bool:
    return sent is not None and hmac.compare_digest(session.csrf, sent)


class LoginLimiter:
    """At most `attempts` failed logins per (user name, address) within `window` seconds;
    a success clears that key. Counted by an injected monotonic clock."""

    def __init__(self, attempts: int, window: float, monotonic: Callable[[], float]) -> None:
        self._attempts, self._window, self._monotonic = attempts, window, monotonic
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, name: str, address: str) -> float | None:
        """Seconds to wait if this key is over its limit, else None."""
        with self._lock:
            times = self._recent((name.lower(), address))
            if len(times) < self._attempts:
                return None
            return max(1.0, self._window - (self._monotonic() - times[0]))

    def failed(self, name: str, address: str) -> None:
        with self._lock:
            key = (name.lower(), address)
            self._recent(key).append(self._monotonic())
            if len(self._failures) > 100_000:  # a flood of names: forget the oldest keys
                for old in list(self._failures)[:50_000]:
                    del self._failures[old]

    def succeeded(self, name: str, address: str) -> None:
        with self._lock:
            self._failures.pop((name.lower(), address), None)

    def _recent(self, key: tuple[str, str]) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        cutoff = self._monotonic() - self._window
        while times and times[0] <= cutoff:
            times.popleft()
        return times


def expires_in(session: Session, now: datetime) -> int:
    return max(0, int((session.expires_at - now) / timedelta(seconds=1)))
