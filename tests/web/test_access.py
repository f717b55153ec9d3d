"""Who may do what, through the real app: logins, sessions, CSRF, API tokens, roles,
job visibility and the headers every answer carries. Routes are enumerated from the app
itself, so a route added later cannot escape the CSRF, login and role checks. Tests that
change nothing another test could see (refusals, reads, a session of their own ended)
share one console per module (`shared_console`); the others get a fresh one."""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Callable
from http.cookies import SimpleCookie
from typing import Any

import pytest

from tests.fixtures.web import PASSWORDS, ROLES, Console
from tests.research.conftest import run_main
from tests.web.support import (
    SAFE,
    SMALL,
    Done,
    FakeClock,
    finished,
    request,
    routes,
    submit,
    tradd,
)
from tradd.users.roles import Role
from tradd.web.app import OPENAPI

LOGIN = "/api/v1/auth/login"
JSON = {"content-type": "application/json"}
ME = "/api/v1/auth/me"
PUBLIC = {("POST", LOGIN), ("GET", OPENAPI)}
"""API routes that answer without a login (pages and static files are public too)."""
ANY_USER = {("POST", "/api/v1/auth/logout")}
ADMIN_ONLY = {("POST", "/api/v1/live/flatten"), ("GET", "/api/v1/audit")}
ADMIN_PREFIXES = ("/api/v1/users", "/api/v1/admin")
"""The issue's roles: viewer reads; trader runs jobs, executes, pauses and resumes (any
state-changing call by default); admin flattens all and manages users."""


def required_role(method: str, path: str) -> Role | None:
    """The least role a route needs; None when anyone logged in may call it."""
    if (method, path) in ANY_USER:
        return None
    if (method, path) in ADMIN_ONLY or path.startswith(ADMIN_PREFIXES):
        return Role.ADMIN
    return Role.VIEWER if method in SAFE else Role.TRADER


def api_routes(console: Console) -> list[tuple[str, str]]:
    return [(m, p) for m, p in routes(console) if (m, p) not in PUBLIC and p.startswith("/api/")]


Cli = Callable[..., Done]


@pytest.fixture
def users(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    """`tradd users ARGS --config <the console's config>` through the CLI's entry point in
    this process, without the caller's TRADD_ variables; `stdin=` is what a pipe would
    give it. What these tests check is the console's answer to what the command changed
    in the database, not the command as a process (tests/cli/test_users_cli.py has that)."""
    for key in [k for k in os.environ if k.startswith("TRADD_")]:
        monkeypatch.delenv(key)

    def run(console: Console, *args: str, stdin: str = "") -> Done:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        return Done(*run_main(capsys, ("users", *args, "--config", str(console.config))))

    return run


def login(client: Any, user: str, password: str | None = None) -> Any:
    return client.post(LOGIN, json={"username": user, "password": password or PASSWORDS[user]})


# logins and sessions


def test_a_wrong_password_an_unknown_user_and_a_disabled_user_get_the_same_401(
    console: Console,
    users: Cli,
) -> None:
    client = console.client()
    assert users(console, "disable", "bob").code == 0
    answers = [login(client, "alice", "wrong-password-1"), login(client, "nobody", "x" * 12),
               login(client, "bob"), login(client, "no such name!", "x")]  # fmt: skip
    assert {r.status_code for r in answers} == {401}
    assert len({r.text for r in answers}) == 1, [r.text for r in answers]
    assert "set-cookie" not in {k.lower() for r in answers for k in r.headers}
    assert login(client, "alice").status_code == 200


def test_logins_are_rate_limited_per_user_and_address_with_retry_after(
    console_factory: Callable[..., Console],
) -> None:
    clock = FakeClock()
    console = console_factory(web={"login_attempts": 3, "login_window": 60},
                              clock=clock.clock, monotonic=clock.monotonic)  # fmt: skip
    client = console.client()
    for _ in range(3):
        assert login(client, "alice", "wrong-password-1").status_code == 401
    refused = login(client, "alice")  # even the right password waits
    assert refused.status_code == 429, refused.text
    assert refused.headers["retry-after"] == "60"
    assert "try again in 60 s" in refused.json()["detail"]
    assert login(client, "bob").status_code == 200  # another name is not held back
    clock.advance(45)
    assert login(client, "alice").headers["retry-after"] == "15"
    clock.advance(16)
    assert login(client, "alice").status_code == 200
    for _ in range(3):  # a success started the count again
        assert login(client, "alice", "wrong-password-1").status_code == 401
    assert login(client, "alice").status_code == 429


@pytest.mark.parametrize("secure", [False, True], ids=["http", "tls"])
def test_the_session_cookie_is_httponly_samesite_strict_and_secure_under_tls(
    console_factory: Callable[..., Console], secure: bool
) -> None:
    clock = FakeClock()
    console = console_factory(secure_cookies=secure, start_runner=False, clock=clock.clock)
    reply = login(console.client(), "alice")
    assert reply.status_code == 200
    cookie = SimpleCookie(reply.headers["set-cookie"])["tradd_session"]
    assert cookie["httponly"] is True
    assert cookie["samesite"].lower() == "strict"
    assert cookie["path"] == "/"
    assert cookie["max-age"] == str(12 * 3600)
    assert bool(cookie["secure"]) is secure
    token = reply.json()["csrf_token"]
    assert token and token not in reply.headers["set-cookie"]


def test_logout_ends_the_session_and_clears_the_cookie(shared_console: Console) -> None:
    alice = shared_console.client("alice")
    key = alice.cookies["tradd_session"]
    assert alice.get(ME).json()["name"] == "alice"
    reply = alice.post("/api/v1/auth/logout")
    assert reply.status_code == 200, reply.text
    cookie = SimpleCookie(reply.headers["set-cookie"])["tradd_session"]
    assert cookie.value == "" and cookie["max-age"] == "0"
    replay = shared_console.client()  # the old cookie, sent again by hand, is dead too
    replay.cookies.set("tradd_session", key)
    assert replay.get(ME).status_code == 401
    assert alice.get(ME).status_code == 401


def test_a_password_change_or_a_disable_ends_the_sessions_already_open(
    console: Console, users: Cli
) -> None:
    alice, bob = console.client("alice"), console.client("bob")
    changed = users(console, "passwd", "alice", stdin="a-new-password-1\n")
    assert changed.code == 0, changed.stderr
    refused = alice.get(ME)
    assert refused.status_code == 401 and "log in again" in refused.json()["detail"]
    assert login(console.client(), "alice").status_code == 401  # the old password
    assert login(console.client(), "alice", "a-new-password-1").status_code == 200
    token = console.token_client("bob")
    assert users(console, "disable", "bob").code == 0
    assert bob.get(ME).status_code == 401
    assert token.get(ME).status_code == 401
    assert users(console, "enable", "bob").code == 0
    assert bob.get(ME).status_code == 401  # that session stays closed
    assert login(console.client(), "bob").status_code == 200


# CSRF


def test_every_state_changing_route_refuses_a_session_without_its_csrf_token(
    shared_console: Console,
) -> None:
    changing = [(m, p) for m, p in routes(shared_console) if m not in SAFE]
    assert ("POST", "/api/v1/optimizer/analyze") in changing
    for method, path in changing:
        assert path.startswith("/api/"), f"{method} {path}: state changes belong to the API"
    admin = shared_console.client("admin")
    good = admin.headers.pop("X-CSRF-Token")
    checked = 0
    for method, path in changing:
        if (method, path) == ("POST", LOGIN):
            continue  # no session yet; JSON only, so no cross-site form can send it
        for header in ({}, {"X-CSRF-Token": "wrong"}, {"X-CSRF-Token": good[:-1]}):
            reply = request(admin, method, path, headers=header)
            assert reply.status_code == 403, (method, path, header, reply.text)
            assert "X-CSRF-Token" in reply.json()["detail"], (method, path)
        checked += 1
    assert checked == len(changing) - 1
    assert admin.get(ME).status_code == 200  # the session survived (logout was refused)


def test_a_refused_csrf_request_does_nothing(console: Console) -> None:
    alice = console.client("alice")
    good = alice.headers.pop("X-CSRF-Token")
    assert alice.post("/api/v1/optimizer/analyze", json=SMALL).status_code == 403
    assert alice.get("/api/v1/optimizer/history").json()["total"] == 0
    alice.headers["X-CSRF-Token"] = good
    job_id = submit(alice)
    assert alice.delete(f"/api/v1/optimizer/jobs/{job_id}",
                        headers={"X-CSRF-Token": "forged"}).status_code == 403  # fmt: skip
    assert finished(alice, job_id)["status"] == "completed"


def test_every_api_route_needs_a_login(shared_console: Console) -> None:
    anonymous = shared_console.client()
    for method, path in api_routes(shared_console):
        reply = request(anonymous, method, path)
        assert reply.status_code == 401, (method, path, reply.text)
    assert anonymous.get(OPENAPI).status_code == 200


# API tokens


def test_api_tokens_from_the_command_line_work_without_csrf_until_revoked(
    console: Console,
    users: Cli,
) -> None:
    issued = users(console, "token", "alice", "--label", "script")
    assert issued.code == 0, issued.stderr
    token = issued.stdout.strip()
    assert token and token not in issued.stderr
    script = console.client()
    script.headers["Authorization"] = f"Bearer {token}"
    job_id = submit(script)  # a POST with no cookie and no CSRF token
    reply = script.delete(f"/api/v1/optimizer/jobs/{job_id}")
    assert reply.status_code == 200 and reply.json()["deleted"], reply.text
    listed = users(console, "tokens", "alice", "--json")
    (info,) = json.loads(listed.stdout)
    assert users(console, "token", "alice", "--revoke", str(info["id"])).code == 0
    refused = script.get(ME)
    assert refused.status_code == 401
    assert refused.json()["detail"] == "invalid or revoked API token"
    for forged in ("garbage", token[:-2], ""):
        script.headers["Authorization"] = f"Bearer {forged}"
        assert script.get(ME).status_code == 401


# roles


def test_each_route_answers_each_role_as_the_issue_says(console: Console) -> None:
    clients = {user: console.client(user) for user in ROLES}
    tokens = {user: console.token_client(user) for user in ROLES}
    table = sorted(api_routes(console), key=lambda route: route == ("POST", "/api/v1/auth/logout"))
    for method, path in table:
        needed = required_role(method, path)
        for user, role in ROLES.items():
            for client in (clients[user], tokens[user]):
                reply = request(client, method, path)
                if needed is None or role >= needed:
                    assert reply.status_code not in (401, 403), (user, method, path, reply.text)
                else:
                    assert reply.status_code == 403, (user, method, path, reply.text)
                    assert reply.json()["detail"] == (
                        f"needs the {needed.value} role; {user} is {role.value}"
                    )


def test_a_viewer_reads_but_cannot_run_or_delete(console: Console) -> None:
    alice, victor = console.client("alice"), console.client("victor")
    assert victor.post("/api/v1/optimizer/analyze", json=SMALL).status_code == 403
    job_id = submit(alice)
    admin = console.client("admin")
    assert finished(admin, job_id)["status"] == "completed"
    assert victor.get("/api/v1/optimizer/history").json()["jobs"] == []
    assert victor.delete(f"/api/v1/optimizer/jobs/{job_id}").status_code == 403


# job visibility


def test_another_users_job_is_404_everywhere_and_an_admin_sees_all(
    console: Console, tmp_path: Any
) -> None:
    alice, bob, admin = console.client("alice"), console.client("bob"), console.client("admin")
    job_id = submit(alice)
    assert finished(alice, job_id)["status"] == "completed"
    unknown = "scan-20990101-abcdef"
    for user in (bob, console.client("victor")):
        for target in (job_id, unknown):
            expected = {"detail": f"no job {target!r}"}
            assert user.get(f"/api/v1/optimizer/status/{target}").json() == expected
            assert user.get(f"/api/v1/optimizer/results/{target}").json() == expected
        assert user.get("/api/v1/optimizer/history").json()["total"] == 0
    for target in (job_id, unknown):
        expected = {"detail": f"no job {target!r}"}
        replies = [bob.delete(f"/api/v1/optimizer/jobs/{target}"),
                   bob.post("/api/v1/optimizer/execute", json={"job_id": target})]  # fmt: skip
        assert [(r.status_code, r.json()) for r in replies] == [(404, expected)] * 2
    seen = admin.get(f"/api/v1/optimizer/status/{job_id}").json()
    assert seen["owner"] == "alice" and seen["status"] == "completed"
    assert admin.get(f"/api/v1/optimizer/results/{job_id}").json()["results"]

    cli = tradd(console, "scan", "--symbols", "ORCL", "--strategies",
                "strategies.sma_cross.SmaCross", "--start", "2011-01-03", "--end",
                "2011-12-30", "--output", str(tmp_path / "cli-scan"))  # fmt: skip
    assert cli.code == 0, cli.stderr
    history = admin.get("/api/v1/optimizer/history").json()
    owners = {j["job_id"]: j["owner"] for j in history["jobs"]}
    (cli_run,) = [k for k, owner in owners.items() if owner is None]
    assert owners[job_id] == "alice" and history["total"] == 2
    assert admin.get(f"/api/v1/optimizer/status/{cli_run}").json()["status"] == "completed"
    assert admin.get(f"/api/v1/optimizer/results/{cli_run}").json()["results"][0]["symbol"] == (
        "ORCL"
    )
    assert alice.get(f"/api/v1/optimizer/status/{cli_run}").status_code == 404
    assert [j["job_id"] for j in alice.get("/api/v1/optimizer/history").json()["jobs"]] == [job_id]
    assert admin.delete(f"/api/v1/optimizer/jobs/{job_id}").json()["deleted"] is True
    assert alice.get(f"/api/v1/optimizer/status/{job_id}").status_code == 404


# headers


def test_security_headers_on_pages_api_static_files_and_errors(shared_console: Console) -> None:
    alice = shared_console.client("alice")
    answers = {
        "page": alice.get("/login"),
        "page (optimizer)": alice.get("/optimizer"),
        "api": alice.get("/api/v1/optimizer/history"),
        "api 401": shared_console.client().get(ME),
        "api 404": alice.get("/api/v1/optimizer/status/scan-20990101-abcdef"),
        "api 422": alice.post("/api/v1/optimizer/analyze", json={}),
        "script": alice.get("/static/common.js"),
        "style": alice.get("/static/app.css"),
        "vendored": alice.get("/static/vendor/uplot/uPlot.iife.min.js"),
        "missing": alice.get("/static/nothing.js"),
        "redirect": alice.get("/", follow_redirects=False),
        "413": alice.post("/api/v1/optimizer/analyze", content=b"x" * 70_000, headers=JSON),
    }
    for what, reply in answers.items():
        headers = reply.headers
        csp = headers.get("content-security-policy", "")
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp, what
        assert "unsafe-eval" not in csp and "frame-ancestors 'none'" in csp, what
        assert headers.get("x-frame-options") == "DENY", what
        assert headers.get("x-content-type-options") == "nosniff", what
        assert "server" not in headers and "x-powered-by" not in headers, what
        assert "traceback" not in reply.text.lower(), what
    assert answers["413"].status_code == 413
    assert answers["api"].headers["cache-control"] == "no-store"
