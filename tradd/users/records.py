"""What the user store hands out: frozen records, never tied to a session and never
holding a hash. The web console serves them as its API's models."""

from __future__ import annotations

from datetime import datetime

from pydantic import SecretStr

from tradd.records.base import Record
from tradd.users.roles import Role


class User(Record):
    name: str
    role: Role
    created_at: datetime
    password_changed_at: datetime
    """Sessions opened before this moment are stale (the console checks it)."""
    disabled: bool = False

    def can(self, role: Role) -> bool:
        """Whether this user has at least `role`'s rights (and is not disabled)."""
        return not self.disabled and self.role >= role


class TokenInfo(Record):
    """One API token as `tradd users tokens` lists it: everything but the token."""

    id: int
    user: str
    label: str | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class IssuedToken(Record):
    """A new token: its text exists here once (shown to its owner, then gone)."""

    info: TokenInfo
    token: SecretStr
