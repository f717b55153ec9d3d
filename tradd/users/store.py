"""Users and API tokens in the project's database: the one API the CLI and the web
console use to manage accounts and to check a login or a bearer token.

Every call is one short transaction of its own (like the ledger and the run store), and
the slow part of a password change, the argon2 hash, is computed before the transaction
so that no database lock is held while it runs. Records handed out are frozen and hold
no hash. Secrets arrive as `SecretStr` and are never logged: log lines name the user,
the role and a token's id, nothing more.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from datetime import datetime, timedelta

import structlog
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import SecretStr
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from tradd.persistence.models_users import ApiTokenRow, UserRow
from tradd.persistence.transactions import read_transaction, write_transaction
from tradd.users.errors import DuplicateUser, LastAdmin, UnknownToken, UnknownUser
from tradd.users.records import IssuedToken, TokenInfo, User
from tradd.users.roles import Role
from tradd.users.rules import (
    NAME_PATTERN,
    check_label,
    check_name,
    check_password,
    generated_password,
    looks_like_token,
    new_token,
    token_digest,
)

FIRST_ADMIN = "admin"
TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)
"""`last_used_at` is written at most this often per token: a script polling every two
seconds must not turn every read into a database write."""

log = structlog.get_logger("tradd.users")


class UserStore:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Callable[[], datetime],
        hasher: PasswordHasher | None = None,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._hasher = hasher or PasswordHasher()
        self._dummy_hash: str | None = None

    # accounts

    def add(self, name: str, role: Role, password: SecretStr) -> User:
        """A new account; DuplicateUser if the name is taken."""
        check_name(name)
        digest = self._hasher.hash(check_password(password).get_secret_value())
        now = self._clock()
        row = UserRow(name=name, role=role.value, password_hash=digest, created_at=now,
                      password_changed_at=now, disabled=False)  # fmt: skip
        try:
            with write_transaction(self._sessions) as session:
                if _find(session, name) is not None:
                    raise DuplicateUser(name)
                session.add(row)
                session.flush()
                user = _user(row)
        except IntegrityError:  # another process added the same name meanwhile
            raise DuplicateUser(name) from None
        log.info("user added", user=name, role=role.value)
        return user

    def set_password(self, name: str, password: SecretStr) -> User:
        digest = self._hasher.hash(check_password(password).get_secret_value())
        with write_transaction(self._sessions) as session:
            row = _existing(session, name)
            row.password_hash = digest
            row.password_changed_at = self._clock()
            user = _user(row)
        log.info("password changed", user=name)
        return user

    def set_role(self, name: str, role: Role) -> User:
        with write_transaction(self._sessions) as session:
            row = _existing(session, name)
            if role != Role.ADMIN:
                _keep_an_admin(session, row, "demoted")
            row.role = role.value
            user = _user(row)
        log.info("role changed", user=name, role=role.value)
        return user

    def set_disabled(self, name: str, disabled: bool) -> User:
        """A disabled user can neither log in nor use a token; nothing is deleted."""
        with write_transaction(self._sessions) as session:
            row = _existing(session, name)
            if disabled:
                _keep_an_admin(session, row, "disabled")
            row.disabled = disabled
            user = _user(row)
        log.info("user disabled" if disabled else "user enabled", user=name)
        return user

    def remove(self, name: str) -> None:
        """Delete the account and its tokens; LastAdmin for the only enabled admin."""
        with write_transaction(self._sessions) as session:
            row = _existing(session, name)
            _keep_an_admin(session, row, "removed")
            session.execute(delete(ApiTokenRow).where(ApiTokenRow.user_id == row.id))
            session.delete(row)
        log.info("user removed", user=name)

    def get(self, name: str) -> User | None:
        with read_transaction(self._sessions) as session:
            row = _find(session, name)
            return _user(row) if row is not None else None

    def list(self) -> list[User]:
        """Every account, by name."""
        with read_transaction(self._sessions) as session:
            return [_user(row) for row in session.scalars(select(UserRow).order_by(UserRow.name))]

    def ensure_admin(self) -> SecretStr | None:
        """On a database without any user, create `admin` with a generated password and
        return that password (to be shown once); None when a user exists already.

        Two processes starting together create it once: SQLite serialises the write
        transactions, and on PostgreSQL the second insert breaks the unique name.
        """
        with read_transaction(self._sessions) as session:
            if session.scalar(select(UserRow.id).limit(1)) is not None:
                return None
        password = generated_password()
        digest = self._hasher.hash(password.get_secret_value())
        now = self._clock()
        try:
            with write_transaction(self._sessions) as session:
                if session.scalar(select(UserRow.id).limit(1)) is not None:
                    return None
                session.add(UserRow(name=FIRST_ADMIN, role=Role.ADMIN.value,
                                    password_hash=digest, created_at=now,
                                    password_changed_at=now, disabled=False))  # fmt: skip
        except IntegrityError:
            return None
        log.info("first admin created", user=FIRST_ADMIN)
        return password

    def authenticate(self, name: str, password: SecretStr) -> User | None:
        """The user if `password` is theirs and they are enabled, else None.

        An unknown (or malformed) name costs one argon2 verification against a dummy hash,
        as a known one does, so the time taken does not tell which names exist. A hash
        made with older argon2 parameters is replaced after a successful login.
        """
        found: tuple[User, str] | None = None
        if NAME_PATTERN.fullmatch(name):
            with read_transaction(self._sessions) as session:
                row = _find(session, name)
                if row is not None:
                    found = (_user(row), row.password_hash)
        if found is None:
            self._verify(self._dummy(), password)
            return None
        user, digest = found
        if not self._verify(digest, password) or user.disabled:
            return None
        if self._hasher.check_needs_rehash(digest):
            self._rehash(name, digest, password)
        return user

    # API tokens

    def issue_token(self, name: str, label: str | None = None) -> IssuedToken:
        """A new token for `name`; its text is in the result and nowhere else."""
        check_label(label)
        token = new_token()
        with write_transaction(self._sessions) as session:
            user = _existing(session, name)
            row = ApiTokenRow(user_id=user.id, token_hash=token_digest(token), label=label,
                              created_at=self._clock())  # fmt: skip
            session.add(row)
            session.flush()
            info = _token(row, name)
        log.info("token issued", user=name, token_id=info.id, label=label)
        return IssuedToken(info=info, token=token)

    def tokens(self, name: str) -> builtins.list[TokenInfo]:
        """`name`'s tokens, revoked ones included, oldest first."""
        with read_transaction(self._sessions) as session:
            user = _existing(session, name)
            rows = session.scalars(
                select(ApiTokenRow).where(ApiTokenRow.user_id == user.id).order_by(ApiTokenRow.id)
            )
            return [_token(row, name) for row in rows]

    def revoke_token(self, name: str, token_id: int) -> TokenInfo:
        """Stop token `token_id` of `name` from working; revoking twice changes nothing."""
        with write_transaction(self._sessions) as session:
            user = _existing(session, name)
            row = session.scalar(
                select(ApiTokenRow).where(
                    ApiTokenRow.id == token_id, ApiTokenRow.user_id == user.id
                )
            )
            if row is None:
                raise UnknownToken(name, token_id)
            if row.revoked_at is None:
                row.revoked_at = self._clock()
            info = _token(row, name)
        log.info("token revoked", user=name, token_id=token_id)
        return info

    def authenticate_token(self, token: SecretStr | str) -> User | None:
        """The owner of a working token (not revoked, owner enabled), else None."""
        text = token.get_secret_value() if isinstance(token, SecretStr) else token
        if not looks_like_token(text):
            return None
        query = (
            select(ApiTokenRow, UserRow)
            .join(UserRow, ApiTokenRow.user_id == UserRow.id)
            .where(ApiTokenRow.token_hash == token_digest(text), ApiTokenRow.revoked_at.is_(None))
        )
        with read_transaction(self._sessions) as session:
            found = session.execute(query).first()
            if found is None:
                return None
            token_row, user_row = found
            token_id, last_used = token_row.id, token_row.last_used_at
            user = _user(user_row)
        if user.disabled:
            return None
        now = self._clock()
        if last_used is None or now - last_used >= TOKEN_TOUCH_INTERVAL:
            with write_transaction(self._sessions) as session:
                session.execute(
                    update(ApiTokenRow).where(ApiTokenRow.id == token_id).values(last_used_at=now)
                )
        return user

    # helpers

    def _verify(self, digest: str, password: SecretStr) -> bool:
        try:
            return self._hasher.verify(digest, password.get_secret_value())
        except (VerificationError, InvalidHashError):
            return False

    def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = self._hasher.hash(generated_password().get_secret_value())
        return self._dummy_hash

    def _rehash(self, name: str, old: str, password: SecretStr) -> None:
        """Store a hash with today's parameters, unless the password changed meanwhile."""
        digest = self._hasher.hash(password.get_secret_value())
        with write_transaction(self._sessions) as session:
            session.execute(
                update(UserRow)
                .where(UserRow.name == name, UserRow.password_hash == old)
                .values(password_hash=digest)
            )
        log.info("password rehashed with current parameters", user=name)


def _find(session: Session, name: str) -> UserRow | None:
    return session.scalar(select(UserRow).where(UserRow.name == name))


def _existing(session: Session, name: str) -> UserRow:
    row = _find(session, name)
    if row is None:
        raise UnknownUser(name)
    return row


def _keep_an_admin(session: Session, row: UserRow, action: str) -> None:
    """LastAdmin if `row` is an enabled admin and no other enabled admin exists. The
    admins' rows are locked on PostgreSQL (SQLite's write transaction already excludes
    every other writer), so two admins cannot remove each other at the same time."""
    if row.role != Role.ADMIN.value or row.disabled:
        return
    admins = select(UserRow.id).where(UserRow.role == Role.ADMIN.value, ~UserRow.disabled)
    locked = session.scalars(admins.with_for_update()).all()
    if not any(admin_id != row.id for admin_id in locked):
        raise LastAdmin(row.name, action)


def _user(row: UserRow) -> User:
    return User(name=row.name, role=Role(row.role), created_at=row.created_at,
                password_changed_at=row.password_changed_at, disabled=row.disabled)  # fmt: skip


def _token(row: ApiTokenRow, name: str) -> TokenInfo:
    return TokenInfo(id=row.id, user=name, label=row.label, created_at=row.created_at,
                     last_used_at=row.last_used_at, revoked_at=row.revoked_at)  # fmt: skip
