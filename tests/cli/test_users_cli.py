"""`tradd users ...` through the CLI's entry point, on SQLite and PostgreSQL: passwords
from standard input (and from a terminal), the list without hashes, tokens that work
until revoked and are not in the database, the last admin, bad input naming the field,
and no secret in the log."""

from __future__ import annotations

import io
import json
import os
import pty
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import text

from tests.conftest import ROOT, _clean_env
from tests.research.conftest import run_main
from tradd.persistence.db import open_database
from tradd.users import Role, UserStore

Tradd = Callable[..., tuple[int, str, str]]
PASSWORD = "correct horse battery"
NEW_PASSWORD = "another long passphrase"


@pytest.fixture
def store(database_url: str) -> Iterator[UserStore]:
    """The store the console will use, on the database the commands write."""
    engine, sessions = open_database(database_url)
    try:
        yield UserStore(sessions, lambda: datetime.now(UTC))
    finally:
        engine.dispose()


@pytest.fixture
def environment(database_url: str, tmp_path: Path) -> dict[str, str]:
    return {"TRADD_DATABASE__URL": database_url, "TRADD_LOG__DIR": str(tmp_path / "logs"),
            "TRADD_STATE_DIR": str(tmp_path / "state"), "COLUMNS": "200"}  # fmt: skip


@pytest.fixture
def tradd(
    environment: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Tradd:
    """`tradd ARGS` in this process; `stdin=` is what a pipe would give it."""
    for key, value in environment.items():
        monkeypatch.setenv(key, value)

    def run(*args: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        return run_main(capsys, args)

    return run


def log_text(tmp_path: Path) -> str:
    return "".join(p.read_text() for p in sorted((tmp_path / "logs").glob("*.log")))


def test_add_from_stdin_then_list_shows_the_user_without_a_hash(
    tradd: Tradd, store: UserStore
) -> None:
    code, out, err = tradd("users", "add", "alice", "--role", "trader", stdin=PASSWORD + "\n")
    assert code == 0, err
    assert out.strip() == "added user 'alice' (trader)"
    code, out, err = tradd("users", "add", "bob", stdin=PASSWORD)  # no line end: fine too
    assert code == 0, err
    code, out, err = tradd("users", "list")
    assert code == 0, err
    lines = out.splitlines()
    assert any("alice" in line and "trader" in line and "enabled" in line for line in lines)
    assert any("bob" in line and "viewer" in line for line in lines)
    code, out, _ = tradd("users", "list", "--json")
    listed = json.loads(out)
    assert [(u["name"], u["role"], u["disabled"]) for u in listed] == [
        ("alice", "trader", False), ("bob", "viewer", False)]  # fmt: skip
    assert set(listed[0]) == {"name", "role", "created_at", "password_changed_at", "disabled"}
    assert "argon2" not in out and PASSWORD not in out
    user = store.authenticate("alice", SecretStr(PASSWORD))
    assert user is not None and user.role == Role.TRADER
    assert store.authenticate("alice", SecretStr(NEW_PASSWORD)) is None


def test_passwd_changes_the_password(tradd: Tradd, store: UserStore) -> None:
    assert tradd("users", "add", "alice", stdin=PASSWORD + "\n")[0] == 0
    before = store.get("alice")
    code, out, err = tradd("users", "passwd", "alice", stdin=NEW_PASSWORD + "\r\n")
    assert code == 0, err
    assert out.strip() == "password of 'alice' changed"
    assert store.authenticate("alice", SecretStr(PASSWORD)) is None
    after = store.authenticate("alice", SecretStr(NEW_PASSWORD))
    assert after is not None and before is not None
    assert after.password_changed_at > before.password_changed_at


def test_a_token_authenticates_until_revoked_and_is_not_in_the_database(
    tradd: Tradd, store: UserStore, database_url: str
) -> None:
    assert tradd("users", "add", "bot", "--role", "trader", stdin=PASSWORD + "\n")[0] == 0
    code, out, err = tradd("users", "token", "bot", "--label", "nightly scan")
    assert code == 0, err
    token = out.strip()
    assert len(out.splitlines()) == 1 and token.startswith("tradd_")
    assert "token 1 for 'bot': shown this once" in err and "--revoke 1" in err
    user = store.authenticate_token(token)
    assert user is not None and user.name == "bot"
    engine, _ = open_database(database_url)
    try:
        with engine.connect() as connection:
            everything = repr([connection.execute(text(f"SELECT * FROM {table}")).all()
                               for table in ("users", "api_tokens")])  # fmt: skip
    finally:
        engine.dispose()
    assert token not in everything and token[len("tradd_") :] not in everything
    assert PASSWORD not in everything
    code, out, err = tradd("users", "tokens", "bot")
    assert code == 0, err
    assert "nightly scan" in out and token not in out
    code, out, _ = tradd("users", "tokens", "bot", "--json")
    [listed] = json.loads(out)
    assert (listed["id"], listed["label"], listed["revoked_at"]) == (1, "nightly scan", None)
    assert listed["last_used_at"] is not None
    code, out, err = tradd("users", "token", "bot", "--revoke", "1")
    assert (code, out.strip()) == (0, "token 1 of 'bot' is revoked"), err
    assert store.authenticate_token(token) is None
    code, out, _ = tradd("users", "token", "bot", "--revoke", "1")
    assert (code, out.strip()) == (0, "token 1 of 'bot' was already revoked")
    code, out, err = tradd("users", "token", "bot", "--revoke", "7")
    assert code == 2 and "user 'bot' has no token 7" in err
    code, _, err = tradd("users", "token", "bot", "--revoke", "1", "--label", "x")
    assert code == 2 and "--label and --revoke" in err
    assert json.loads(tradd("users", "tokens", "bot", "--json")[1])[0]["revoked_at"]


def test_the_last_admin_cannot_be_removed(tradd: Tradd, store: UserStore) -> None:
    assert tradd("users", "add", "root", "--role", "admin", stdin=PASSWORD)[0] == 0
    for args in (("remove", "root"), ("role", "root", "trader"), ("disable", "root")):
        code, out, err = tradd("users", *args)
        assert code == 2, (args, out, err)
        assert "user 'root' is the last enabled admin" in err and "Traceback" not in err
    assert tradd("users", "add", "ops", "--role", "admin", stdin=PASSWORD)[0] == 0
    code, out, err = tradd("users", "remove", "root")
    assert (code, out.strip()) == (0, "removed user 'root' and their tokens"), err
    assert [u.name for u in store.list()] == ["ops"]


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (("add", "bob"), "short\n", "password: too short (5 characters; at least 12)"),
        (("add", "bob"), "", "password: empty (no account is without a password)"),
        (("add", "bob"), "\n", "password: empty"),
        (("add", "Bob!"), PASSWORD, "name 'Bob!': use 1-32 of a-z, 0-9, '_', '.' and '-'"),
        (("add", "x" * 33), PASSWORD, "name 'xxxxxxxx"),
        (
            ("add", "bob", "--role", "boss"),
            PASSWORD,
            "role 'boss': use one of viewer, trader, admin",
        ),
        (("passwd", "nobody"), PASSWORD, "no user 'nobody' (see tradd users list)"),
        (("remove", "nobody"), "", "no user 'nobody'"),
        (("token", "nobody"), "", "no user 'nobody'"),
        (("tokens", "nobody"), "", "no user 'nobody'"),
        (("role", "nobody", "admin"), "", "no user 'nobody'"),
        (("token", "nobody", "--label", ""), "", "label '': use 1-64 printable characters"),
    ],
)
def test_bad_input_is_refused_naming_the_field(
    tradd: Tradd, store: UserStore, args: tuple[str, ...], stdin: str, message: str
) -> None:
    code, out, err = tradd("users", *args, stdin=stdin)
    assert code == 2, (out, err)
    assert message in err and "Traceback" not in err
    assert store.list() == []


def test_a_duplicate_name_or_a_short_new_password_is_refused(
    tradd: Tradd, store: UserStore
) -> None:
    assert tradd("users", "add", "bob", stdin=PASSWORD)[0] == 0
    code, _, err = tradd("users", "add", "bob", stdin=NEW_PASSWORD)
    assert code == 2 and "user 'bob' exists already" in err
    code, _, err = tradd("users", "passwd", "bob", stdin="tiny")
    assert code == 2 and "password: too short (4 characters" in err and "tiny" not in err
    assert store.authenticate("bob", SecretStr(PASSWORD)) is not None


def as_process(
    environment: dict[str, str], *args: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """`tradd users ARGS` as a process of its own, `stdin` piped in."""
    return subprocess.run([sys.executable, "-m", "tradd", "users", *args], input=stdin,
                          cwd=ROOT, env=_clean_env(environment), capture_output=True,
                          text=True, timeout=120, check=False)  # fmt: skip


def test_the_cli_as_a_process_reads_a_piped_password_and_logs_no_secret(
    environment: dict[str, str], store: UserStore, tmp_path: Path
) -> None:
    """Processes of their own: the log's repeat limiter lives as long as its process, so
    in-process runs would hide one test's lines behind another's."""
    added = as_process(environment, "add", "carol", "--role", "admin", stdin=PASSWORD + "\n")
    assert (added.returncode, added.stdout.strip()) == (0, "added user 'carol' (admin)"), added
    changed = as_process(environment, "passwd", "carol", stdin=NEW_PASSWORD)
    assert changed.returncode == 0, changed.stderr
    refused = as_process(environment, "add", "eve", stdin="secretshort")
    assert refused.returncode == 2 and "password: too short (11 characters" in refused.stderr
    issued = as_process(environment, "token", "carol", "--label", "ci")
    assert issued.returncode == 0, issued.stderr
    token = issued.stdout.strip()
    user = store.authenticate_token(token)
    assert user is not None and user.name == "carol"
    assert as_process(environment, "token", "carol", "--revoke", "1").returncode == 0
    removed = as_process(environment, "remove", "carol")
    assert removed.returncode == 2 and "last enabled admin" in removed.stderr
    logged = log_text(tmp_path)
    events = {json.loads(line)["event"] for line in logged.splitlines()}
    assert {"user added", "password changed", "token issued", "token revoked"} <= events
    for secret in (PASSWORD, NEW_PASSWORD, "secretshort", token, token[len("tradd_") :]):
        assert secret not in logged
        for result in (added, changed, refused, removed):
            assert secret not in result.stdout + result.stderr
    assert "argon2" not in logged


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_on_a_terminal_the_password_is_asked_twice_without_echo(
    environment: dict[str, str], store: UserStore
) -> None:
    assert terminal(environment, ["add", "dave"], [PASSWORD, PASSWORD]).endswith(
        "added user 'dave' (viewer)\r\n")  # fmt: skip
    assert store.authenticate("dave", SecretStr(PASSWORD)) is not None
    shown = terminal(environment, ["passwd", "dave"], [NEW_PASSWORD, NEW_PASSWORD + "x"])
    assert "password: the two entries differ; nothing changed" in shown
    assert NEW_PASSWORD not in shown  # not echoed
    assert store.authenticate("dave", SecretStr(PASSWORD)) is not None


def terminal(environment: dict[str, str], args: list[str], answers: list[str]) -> str:
    """Run `tradd users ARGS` on a new pseudo-terminal (its controlling terminal, which
    getpass reads); answer each prompt ending in ": " once it appears. Everything shown."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: exec at once, never return into pytest
        os.chdir(ROOT)
        os.execve(sys.executable, [sys.executable, "-m", "tradd", "users", *args],
                  _clean_env(environment))  # fmt: skip
    shown = b""
    pending = list(answers)
    try:
        while True:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            shown += chunk
            if pending and shown.rstrip().endswith(b":"):
                os.write(fd, pending.pop(0).encode() + b"\n")
                shown += b"<answered>"
    finally:
        os.close(fd)
        os.waitpid(pid, 0)
    return shown.decode()
