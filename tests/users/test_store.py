"""UserStore on SQLite and PostgreSQL: accounts, logins, tokens, the first admin, and
the rules for names, passwords and labels."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy import text as sql
from sqlalchemy.orm import Session, sessionmaker

from tests.fixtures.database import OpenedDatabase
from tests.persistence.conftest import FakeClock
from tests.persistence.spawn import run_together
from tests.users.conftest import CHEAP
from tests.users.processes import ensure_admin_together
from tradd.persistence.db import open_database
from tradd.persistence.models_users import USER_ROLES, ApiTokenRow, UserRow
from tradd.users import (
    DuplicateUser,
    InvalidField,
    LastAdmin,
    Role,
    UnknownToken,
    UnknownUser,
    UserStore,
)
from tradd.users.rules import TOKEN_PREFIX

PASSWORD = SecretStr("correct horse battery")
OTHER = SecretStr("staple staple staple")


def test_roles_are_ordered_by_rights_not_by_spelling() -> None:
    assert tuple(Role) == USER_ROLES  # the database's CHECK constraint lists the same
    assert Role.VIEWER < Role.TRADER < Role.ADMIN
    assert sorted([Role.ADMIN, Role.VIEWER, Role.TRADER]) == [Role.VIEWER, Role.TRADER,
                                                              Role.ADMIN]  # fmt: skip
    assert Role.ADMIN >= Role.TRADER and not Role.VIEWER >= Role.TRADER
    assert Role.TRADER == "trader" and f"{Role.ADMIN}" == "admin"
    with pytest.raises(TypeError, match="only with a Role"):
        assert Role.ADMIN > "viewer"
    with pytest.raises(InvalidField, match="role 'boss': use one of viewer, trader, admin"):
        Role.parse("boss")


def test_add_get_list_and_the_record_holds_no_hash(store: UserStore, clock: FakeClock) -> None:
    start = clock.now
    bob = store.add("bob", Role.TRADER, PASSWORD)
    clock.advance(60)
    store.add("alice", Role.VIEWER, OTHER)
    assert (bob.name, bob.role, bob.created_at, bob.disabled) == ("bob", Role.TRADER, start, False)
    assert [u.name for u in store.list()] == ["alice", "bob"]
    assert store.get("bob") == bob and store.get("nobody") is None
    assert set(bob.model_dump()) == {"name", "role", "created_at", "password_changed_at",
                                     "disabled"}  # fmt: skip
    assert bob.can(Role.VIEWER) and bob.can(Role.TRADER) and not bob.can(Role.ADMIN)
    with pytest.raises(DuplicateUser, match="user 'bob' exists already"):
        store.add("bob", Role.ADMIN, OTHER)


def test_authenticate_right_wrong_unknown_disabled(store: UserStore) -> None:
    store.add("bob", Role.TRADER, PASSWORD)
    user = store.authenticate("bob", PASSWORD)
    assert user is not None and user.name == "bob"
    assert store.authenticate("bob", OTHER) is None
    assert store.authenticate("nobody", PASSWORD) is None
    assert store.authenticate("Not A Name!", PASSWORD) is None
    assert store.authenticate("bob", SecretStr("")) is None
    store.add("root", Role.ADMIN, OTHER)
    store.set_disabled("bob", True)
    assert store.authenticate("bob", PASSWORD) is None
    store.set_disabled("bob", False)
    assert store.authenticate("bob", PASSWORD) is not None


def test_set_password_replaces_the_old_one(store: UserStore, clock: FakeClock) -> None:
    store.add("bob", Role.TRADER, PASSWORD)
    clock.advance(3600)
    changed = store.set_password("bob", OTHER)
    assert changed.password_changed_at == clock.now and changed.created_at < clock.now
    assert store.authenticate("bob", PASSWORD) is None
    assert store.authenticate("bob", OTHER) is not None
    with pytest.raises(UnknownUser, match="no user 'nobody'"):
        store.set_password("nobody", OTHER)


def test_an_old_hash_is_replaced_at_login(sessions: sessionmaker[Session]) -> None:
    now = lambda: datetime.now(UTC)  # noqa: E731
    UserStore(sessions, now, hasher=CHEAP).add("bob", Role.VIEWER, PASSWORD)
    current = UserStore(sessions, now)  # argon2-cffi's defaults
    assert current.authenticate("bob", PASSWORD) is not None
    with sessions() as session:
        digest = session.scalar(select(UserRow.password_hash).where(UserRow.name == "bob"))
    assert digest is not None and digest.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert current.authenticate("bob", PASSWORD) is not None


def test_a_token_works_until_revoked_and_only_its_hash_is_stored(
    store: UserStore, clock: FakeClock, database: OpenedDatabase
) -> None:
    store.add("bot", Role.TRADER, PASSWORD)
    issued = store.issue_token("bot", "nightly scan")
    text = issued.token.get_secret_value()
    assert text.startswith(TOKEN_PREFIX) and len(text) == len(TOKEN_PREFIX) + 43
    assert text not in repr(issued) and text not in str(issued.model_dump())
    user = store.authenticate_token(issued.token)
    assert user is not None and user.name == "bot"
    assert store.authenticate_token(text) == user  # a plain str, as a header gives it
    with database.engine.connect() as connection:
        rows = connection.execute(sql("SELECT * FROM api_tokens")).all()
        users = connection.execute(sql("SELECT * FROM users")).all()
    assert text not in repr(rows) + repr(users)
    assert text[len(TOKEN_PREFIX) :] not in repr(rows)
    [info] = store.tokens("bot")
    assert (info.id, info.label, info.active, info.last_used_at) == (
        issued.info.id, "nightly scan", True, clock.now)  # fmt: skip
    revoked = store.revoke_token("bot", info.id)
    assert revoked.revoked_at == clock.now and not revoked.active
    assert store.authenticate_token(issued.token) is None
    assert store.revoke_token("bot", info.id) == revoked  # twice: nothing changes
    with pytest.raises(UnknownToken, match="user 'bot' has no token 999"):
        store.revoke_token("bot", 999)


def test_tokens_of_one_user_are_not_another_users(store: UserStore) -> None:
    store.add("bob", Role.TRADER, PASSWORD)
    store.add("eve", Role.VIEWER, PASSWORD)
    token = store.issue_token("bob").info.id
    with pytest.raises(UnknownToken):
        store.revoke_token("eve", token)
    assert store.tokens("eve") == []


def test_bad_and_disabled_tokens_do_not_authenticate(store: UserStore) -> None:
    store.add("root", Role.ADMIN, PASSWORD)
    store.add("bob", Role.TRADER, PASSWORD)
    issued = store.issue_token("bob")
    text = issued.token.get_secret_value()
    for bad in ("", "Bearer " + text, text[:-1], text[:-1] + ("A" if text[-1] != "A" else "B"),
                TOKEN_PREFIX + "x" * 43):  # fmt: skip
        assert store.authenticate_token(bad) is None, bad
    store.set_disabled("bob", True)
    assert store.authenticate_token(text) is None
    store.set_disabled("bob", False)
    store.remove("bob")
    assert store.authenticate_token(text) is None


def test_last_used_is_written_at_most_once_a_minute(store: UserStore, clock: FakeClock) -> None:
    store.add("bot", Role.VIEWER, PASSWORD)
    issued = store.issue_token("bot")
    first = clock.now
    store.authenticate_token(issued.token)
    clock.advance(30)
    store.authenticate_token(issued.token)
    assert store.tokens("bot")[0].last_used_at == first
    clock.advance(30)
    store.authenticate_token(issued.token)
    assert store.tokens("bot")[0].last_used_at == clock.now


def test_the_last_enabled_admin_stays(store: UserStore) -> None:
    store.add("root", Role.ADMIN, PASSWORD)
    for action, call in (("removed", lambda: store.remove("root")),
                         ("demoted", lambda: store.set_role("root", Role.TRADER)),
                         ("disabled", lambda: store.set_disabled("root", True))):  # fmt: skip
        with pytest.raises(LastAdmin, match=f"'root' is the last enabled admin: not {action}"):
            call()
    store.add("ops", Role.ADMIN, OTHER)
    store.set_disabled("ops", True)  # a disabled admin does not count
    with pytest.raises(LastAdmin):
        store.remove("root")
    store.set_disabled("ops", False)
    store.remove("root")
    assert [(u.name, u.role) for u in store.list()] == [("ops", Role.ADMIN)]
    store.add("bob", Role.VIEWER, PASSWORD)
    assert store.set_role("bob", Role.ADMIN).role == Role.ADMIN
    assert store.set_role("ops", Role.VIEWER).role == Role.VIEWER


def test_removing_a_user_removes_their_tokens(store: UserStore, database: OpenedDatabase) -> None:
    store.add("bob", Role.VIEWER, PASSWORD)
    store.issue_token("bob")
    store.remove("bob")
    with pytest.raises(UnknownUser):
        store.remove("bob")
    with database.sessions() as session:
        assert session.scalars(select(ApiTokenRow)).all() == []


def test_ensure_admin_creates_admin_once(store: UserStore) -> None:
    password = store.ensure_admin()
    assert password is not None and len(password.get_secret_value()) == 24
    admin = store.authenticate("admin", password)
    assert admin is not None and admin.role == Role.ADMIN
    assert store.ensure_admin() is None
    assert [u.name for u in store.list()] == ["admin"]


def test_ensure_admin_does_nothing_when_a_user_exists(store: UserStore) -> None:
    store.add("bob", Role.VIEWER, PASSWORD)
    assert store.ensure_admin() is None
    assert [u.name for u in store.list()] == ["bob"]


def test_ensure_admin_in_processes_starting_together(database_url: str) -> None:
    engine, _ = open_database(database_url)  # migrated once; the race is over the account
    engine.dispose()
    passwords = run_together(ensure_admin_together, [(database_url,)] * 3)
    made = [p for p in passwords if p is not None]
    assert len(made) == 1
    engine, sessions = open_database(database_url)
    try:
        store = UserStore(sessions, lambda: datetime.now(UTC))
        assert [u.name for u in store.list()] == ["admin"]
        assert store.authenticate("admin", SecretStr(made[0])) is not None
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "name '': use 1-32 of a-z, 0-9"),
        ("Bob", "name 'Bob'"),
        ("bob smith", "name 'bob smith'"),
        ("b" * 33, "name 'bbbb"),
        ("bob<script>", "name 'bob<script>'"),
    ],
)
def test_a_bad_name_is_refused_naming_the_field(store: UserStore, name: str, message: str) -> None:
    with pytest.raises(InvalidField, match=message) as caught:
        store.add(name, Role.VIEWER, PASSWORD)
    assert caught.value.field == "name"
    assert store.list() == []


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("", "password: empty"),
        ("short pw", r"password: too short \(8 characters; at least 12\)"),
        ("x" * 1025, r"password: too long \(1025 characters; at most 1024\)"),
    ],
)
def test_a_bad_password_is_refused_without_repeating_it(
    store: UserStore, password: str, message: str
) -> None:
    with pytest.raises(InvalidField, match=message) as caught:
        store.add("bob", Role.VIEWER, SecretStr(password))
    assert caught.value.field == "password"
    assert not password or password not in str(caught.value)
    assert store.list() == []
    store.add("bob", Role.VIEWER, PASSWORD)
    with pytest.raises(InvalidField, match=message):
        store.set_password("bob", SecretStr(password))
    assert store.authenticate("bob", PASSWORD) is not None
    assert store.get("bob") == store.list()[0]


@pytest.mark.parametrize("label", ["", "x" * 65, "tab\there"])
def test_a_bad_label_is_refused(store: UserStore, label: str) -> None:
    store.add("bob", Role.VIEWER, PASSWORD)
    with pytest.raises(InvalidField, match="label .*: use 1-64 printable characters"):
        store.issue_token("bob", label)
    assert store.tokens("bob") == []
