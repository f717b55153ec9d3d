"""`tradd web` as an operator starts it: `python -m tradd web` in a process of its own,
talked to over a real socket. The first admin's password, where it may listen, bad
configuration, and a clean stop that leaves the jobs running. What is refused before
anything is served (bad configuration, a port in use) runs through the same entry point
in this process: those tests are about messages and exit codes."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fixtures.alert_servers import TlsCertificate
from tests.fixtures.simulator import eventually
from tests.fixtures.web import write_console_config
from tests.research.conftest import Tradd, run_main
from tests.web.support import LONG, ROOT, finished, gone, tradd, wait_status


@pytest.fixture
def refused(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Tradd:
    """`tradd web ARGS --config CONFIG` in this process, without the caller's TRADD_
    variables: for what is refused before anything is served (bad configuration, a port in
    use), a check of messages and exit codes rather than of a process of its own."""
    for key in [k for k in os.environ if k.startswith("TRADD_")]:
        monkeypatch.delenv(key)
    return lambda config, *args: run_main(capsys, ("web", *args, "--config", str(config)))


PASSWORD = re.compile(r"first start: created user admin with password (\S+) \(shown once")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def web(
    config: Path, *args: str, port: int | None = None, verify: Any = True
) -> Iterator[tuple[subprocess.Popen[bytes], str, Path]]:
    """`tradd web --config CONFIG ARGS` serving on `port`, once it answers: (the process,
    its URL, the file of its output); killed afterwards if the test did not stop it. With
    `verify` (an SSL context) it is asked over https."""
    port = port or free_port()
    base = f"{'https' if verify is not True else 'http'}://127.0.0.1:{port}"
    err = config.parent / f"web-{port}-{os.urandom(3).hex()}.err"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADD_")}
    with err.open("w") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "tradd", "web", "--config", str(config), "--port", str(port),
             *args], cwd=ROOT, env=env, stdout=sink, stderr=sink, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    try:

        def ready() -> bool:
            assert process.poll() is None, f"tradd web ended: {err.read_text()}"
            try:
                return httpx.get(f"{base}/login", timeout=2, verify=verify).status_code == 200
            except httpx.TransportError:
                return False

        eventually(ready, 120, "tradd web to answer")
        yield process, base, err
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(30)


def job_process(job_id: str) -> int:
    """The pid of the job's own process (its session leader; its pool workers share its
    command line)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            pid = int(entry.name)
            if job_id.encode() in argv and os.getsid(pid) == pid:
                return pid
        except (OSError, ProcessLookupError):
            continue
    raise AssertionError(f"no process for job {job_id}")


def logged_in(base: str, user: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=30)
    reply = client.post("/api/v1/auth/login", json={"username": user, "password": password})
    assert reply.status_code == 200, reply.text
    client.headers["X-CSRF-Token"] = reply.json()["csrf_token"]
    return client


def test_tradd_web_serves_stops_on_sigterm_and_leaves_its_job_running(
    tmp_path: Path, database_url: str
) -> None:
    config = write_console_config(tmp_path, database_url)
    job_pid: int | None = None
    try:
        with web(config) as (process, base, err):
            banner = err.read_text()
            assert f"tradd console on {base}/" in banner
            (password,) = PASSWORD.findall(banner)
            admin = logged_in(base, "admin", password)
            for path in ("/login", "/optimizer", "/api/v1/auth/me", "/static/common.js",
                         "/api/v1/openapi.json", "/nowhere"):  # fmt: skip
                headers = admin.get(path).headers
                assert "server" not in headers, (path, headers)
                assert headers["x-frame-options"] == "DENY", path
                assert "unsafe-inline" not in headers["content-security-policy"], path
            reply = admin.post("/api/v1/optimizer/analyze", json=LONG)
            assert reply.status_code == 202, reply.text
            job_id = reply.json()["job_id"]
            wait_status(admin, job_id, "running", timeout=120)
            job_pid = job_process(job_id)
            process.send_signal(signal.SIGTERM)
            assert process.wait(60) == 0, err.read_text()
            assert not gone(job_pid), "the job's process ended with the console"

        with web(config) as (process, base, err):  # a second start: no new password
            assert "password" not in err.read_text()
            admin = logged_in(base, "admin", password)
            done = finished(admin, job_id, timeout=300)
            assert done["status"] == "completed", done
            process.send_signal(signal.SIGINT)
            assert process.wait(60) == 0, err.read_text()
        logs = [p for p in (tmp_path / "logs").rglob("*") if p.is_file()]
        assert logs and not any(password in p.read_text(errors="replace") for p in logs)
    finally:
        if job_pid is not None and not gone(job_pid):
            os.killpg(job_pid, signal.SIGKILL)


def test_behind_a_tls_proxy_it_serves_remote_with_secure_cookies(tmp_path: Path) -> None:
    config = write_console_config(tmp_path, f"sqlite:///{tmp_path / 'tradd.db'}",
                                  web={"host": "0.0.0.0", "tls_proxy": True})  # fmt: skip
    assert tradd(config, "users", "add", "alice", "--role", "trader",
                 stdin="alice-password-1\n").code == 0  # fmt: skip
    with web(config, "--allow-remote") as (process, base, err):
        assert "password" not in err.read_text()  # a user exists: no admin made
        reply = httpx.post(f"{base}/api/v1/auth/login",
                           json={"username": "alice", "password": "alice-password-1"})  # fmt: skip
        assert reply.status_code == 200, reply.text
        cookie = SimpleCookie(reply.headers["set-cookie"])["tradd_session"]
        assert cookie["secure"] and cookie["httponly"] and cookie["samesite"] == "strict"
        assert reply.headers["strict-transport-security"].startswith("max-age=")
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 0


def test_with_a_certificate_it_serves_https_with_secure_cookies(
    tmp_path: Path, tls_certificate: TlsCertificate
) -> None:
    config = write_console_config(tmp_path, f"sqlite:///{tmp_path / 'tradd.db'}",
                                  web={"tls_cert": str(tls_certificate.cert),
                                       "tls_key": str(tls_certificate.key)})  # fmt: skip
    trust = tls_certificate.client_context()
    with web(config, verify=trust) as (process, base, err):
        assert f"tradd console on {base}/" in err.read_text()
        (password,) = PASSWORD.findall(err.read_text())
        reply = httpx.post(f"{base}/api/v1/auth/login", verify=trust,
                           json={"username": "admin", "password": password})  # fmt: skip
        assert reply.status_code == 200, reply.text
        assert SimpleCookie(reply.headers["set-cookie"])["tradd_session"]["secure"]
        assert reply.headers["strict-transport-security"].startswith("max-age=")
        process.send_signal(signal.SIGTERM)
        assert process.wait(60) == 0


@pytest.mark.parametrize(
    ("web_section", "args", "code", "message"),
    [
        ({"host": "0.0.0.0"}, [], 2,
         "[web] host 0.0.0.0 is not loopback: the console listens on 127.0.0.1 unless started "
         "with --allow-remote"),
        ({"host": "0.0.0.0"}, ["--allow-remote"], 78,
         "--allow-remote on 0.0.0.0 needs TLS: set [web] tls_cert and tls_key, or tls_proxy = "
         "true"),
        ({"max_running_jobs": 0}, [], 78, "web.max_running_jobs: Input should be greater than "
         "or equal to 1 (got 0)"),
        ({"port": "eighty"}, [], 78, "web.port: Input should be a valid integer"),
        ({"retention_days": -1}, [], 78, "web.retention_days"),
        ({"colour": "red"}, [], 78, "web.colour: unknown key"),
        ({"tls_cert": "/nonexistent/cert.pem"}, [], 78, "[web] tls_cert and tls_key: give both"),
        ({"tls_cert": "/nonexistent/cert.pem", "tls_key": "/nonexistent/key.pem"}, [], 78,
         "[web] tls_cert /nonexistent/cert.pem: no such file"),
        ({"host": "nowhere.invalid", "tls_proxy": True}, ["--allow-remote"], 78,
         "[web] host nowhere.invalid:"),
        ({}, ["--port", "0"], 2, "--port 0: must be 1..65535"),
        ({}, ["--port", "70000"], 2, "--port 70000: must be 1..65535"),
    ],
    ids=["remote-without-allow", "remote-without-tls", "bad-max-running", "bad-port-type",
         "bad-retention", "unknown-key", "cert-without-key", "missing-cert", "unknown-host",
         "port-0", "port-too-big"],
)  # fmt: skip
def test_tradd_web_refuses_what_it_must_not_serve(
    refused: Tradd,
    tmp_path: Path,
    web_section: dict[str, Any],
    args: list[str],
    code: int,
    message: str,
) -> None:
    config = write_console_config(tmp_path, f"sqlite:///{tmp_path / 'tradd.db'}",
                                  web=web_section)  # fmt: skip
    exit_code, _, stderr = refused(config, *args)
    assert exit_code == code, stderr
    assert message in stderr, stderr
    assert "password" not in stderr and "Traceback" not in stderr


def test_a_port_in_use_is_one_line_and_exit_1(refused: Tradd, tmp_path: Path) -> None:
    config = write_console_config(tmp_path, f"sqlite:///{tmp_path / 'tradd.db'}")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        exit_code, _, stderr = refused(config, "--port", str(port))
    assert exit_code == 1, stderr
    assert stderr.strip() == (
        f"tradd: error: cannot listen on 127.0.0.1:{port}: Address already in use (another "
        "console? --port)"
    )
