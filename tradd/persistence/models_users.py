"""The web console's accounts: users with their password hashes, and API tokens.

Kept apart from `models` (the live trading tables) because only `tradd.users.UserStore`
reads and writes them. `models` imports this module at its end so that `Base.metadata`
(and with it the schema check in the tests) knows the tables; the revision
`migrations/versions/r0006_users.py` creates them.

No secret is stored as given: `password_hash` is an argon2 hash (never NULL, so no
account exists without a password), `token_hash` the SHA-256 of a token of 32 random
bytes, which is all a token needs (it cannot be guessed, so a slow hash buys nothing).
A revoked token keeps its row, so `tradd users tokens` still shows when it was revoked.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from tradd.persistence.schema import Base, UtcDateTime, in_list

USER_ROLES = ("viewer", "trader", "admin")
"""Lowest first; `tradd.users.Role` holds the same values in the same order."""
NAME_MAX = 32
LABEL_MAX = 64
TOKEN_HASH_LENGTH = 64
"""A SHA-256 digest in hex."""


class UserRow(Base):
    """One account of the web console."""

    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("name"),
        CheckConstraint(in_list("role", USER_ROLES), name="role"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    role: Mapped[str] = mapped_column(String(8))
    password_hash: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    password_changed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)


class ApiTokenRow(Base):
    """One API token of a user, by its hash; `revoked_at` set once it no longer works."""

    __tablename__ = "api_tokens"
    __table_args__ = (
        UniqueConstraint("token_hash"),
        Index(None, "user_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(TOKEN_HASH_LENGTH))
    label: Mapped[str | None] = mapped_column(String(LABEL_MAX))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
