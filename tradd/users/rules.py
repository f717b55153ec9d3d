"""The rules for names, passwords and token labels, and how secrets are made.

Passwords are hashed with argon2 (`argon2-cffi`'s defaults, argon2id): slow on purpose,
because people choose guessable ones. API tokens are 32 random bytes from `secrets`, so
nobody can guess one and a fast SHA-256 is enough to store them: the database then holds
nothing that logs in. Tokens carry a `tradd_` prefix so that a leaked one is easy to
recognise (and to grep for in a repository before it is pushed).
"""

from __future__ import annotations

import hashlib
import re
import secrets

from pydantic import SecretStr

from tradd.persistence.models_users import LABEL_MAX, NAME_MAX
from tradd.users.errors import InvalidField

NAME_PATTERN = re.compile(rf"[a-z0-9_.-]{{1,{NAME_MAX}}}")
PASSWORD_MIN = 12
PASSWORD_MAX = 1024
"""Longer is refused: nobody types more, and a megabyte-long "password" only costs time."""
TOKEN_PREFIX = "tradd_"
TOKEN_BYTES = 32
TOKEN_LENGTH = len(TOKEN_PREFIX) + len(secrets.token_urlsafe(TOKEN_BYTES))
GENERATED_PASSWORD_BYTES = 18
"""24 URL-safe characters (144 bits): typed once at first login, then changed."""


def check_name(name: str) -> str:
    if not NAME_PATTERN.fullmatch(name):
        raise InvalidField("name", f"name {name!r}: use 1-{NAME_MAX} of a-z, 0-9, '_', '.' and '-'")
    return name


def check_password(password: SecretStr) -> SecretStr:
    """At least PASSWORD_MIN characters. The message gives the length, never the text."""
    length = len(password.get_secret_value())
    if length == 0:
        raise InvalidField("password", "password: empty (no account is without a password)")
    if length < PASSWORD_MIN:
        raise InvalidField(
            "password", f"password: too short ({length} characters; at least {PASSWORD_MIN})"
        )
    if length > PASSWORD_MAX:
        raise InvalidField(
            "password", f"password: too long ({length} characters; at most {PASSWORD_MAX})"
        )
    return password


def check_label(label: str | None) -> str | None:
    if label is None:
        return None
    if not 0 < len(label) <= LABEL_MAX or not label.isprintable():
        raise InvalidField("label", f"label {label!r:.80}: use 1-{LABEL_MAX} printable characters")
    return label


def new_token() -> SecretStr:
    return SecretStr(TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES))


def looks_like_token(text: str) -> bool:
    """Cheap shape check before any database look-up."""
    return len(text) == TOKEN_LENGTH and text.startswith(TOKEN_PREFIX)


def token_digest(token: SecretStr | str) -> str:
    """What is stored of a token: the hex SHA-256 of its text."""
    text = token.get_secret_value() if isinstance(token, SecretStr) else token
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def generated_password() -> SecretStr:
    return SecretStr(secrets.token_urlsafe(GENERATED_PASSWORD_BYTES))
