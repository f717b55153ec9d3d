"""SystemdNotifier against real AF_UNIX datagram sockets standing in for systemd."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from tradd.supervisor.notify import SystemdNotifier, monotonic_usec, without_notify_env


def _recv(sock: socket.socket) -> str:
    return sock.recv(4096).decode()


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    """A bound datagram socket at a filesystem path, and the $NOTIFY_SOCKET naming it."""
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(5)
    yield sock, str(path)
    sock.close()


@pytest.fixture
def notifier(listener: tuple[socket.socket, str]) -> Iterator[SystemdNotifier]:
    n = SystemdNotifier({"NOTIFY_SOCKET": listener[1]}, monotonic=lambda: 123456789)
    yield n
    n.close()


def test_messages_arrive_as_exact_datagrams(
    listener: tuple[socket.socket, str], notifier: SystemdNotifier
) -> None:
    sock, _ = listener
    assert notifier.enabled
    notifier.ready("3 strategies running")
    assert _recv(sock) == "READY=1\nSTATUS=3 strategies running"
    notifier.ready()
    assert _recv(sock) == "READY=1"
    notifier.reloading()
    assert _recv(sock) == "RELOADING=1\nMONOTONIC_USEC=123456789"
    notifier.stopping()
    assert _recv(sock) == "STOPPING=1"
    notifier.watchdog()
    assert _recv(sock) == "WATCHDOG=1"
    notifier.status("two\nlines")
    assert _recv(sock) == "STATUS=two lines"  # a newline would inject a bogus assignment
    notifier.mainpid(4321)
    assert _recv(sock) == "MAINPID=4321"
    notifier.extend_timeout(2.5)
    assert _recv(sock) == "EXTEND_TIMEOUT_USEC=2500000"


def test_abstract_socket_name() -> None:
    name = f"tradd-test-{uuid.uuid4().hex}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(5)
    try:
        with SystemdNotifier({"NOTIFY_SOCKET": "@" + name}) as n:
            assert n.enabled
            n.watchdog()
            assert _recv(sock) == "WATCHDOG=1"
    finally:
        sock.close()


def test_default_clock_is_clock_monotonic(
    listener: tuple[socket.socket, str],
) -> None:
    sock, path = listener
    with SystemdNotifier({"NOTIFY_SOCKET": path}) as n:
        before = monotonic_usec()
        n.reloading()
        after = monotonic_usec()
    first, second = _recv(sock).split("\n")
    assert first == "RELOADING=1"
    stamp = int(second.removeprefix("MONOTONIC_USEC="))
    assert before <= stamp <= after


def test_disabled_without_notify_socket() -> None:
    n = SystemdNotifier({})
    assert not n.enabled
    n.ready("x")  # no-ops, no errors
    n.watchdog()
    assert n.watchdog_interval() is None
    n.close()
    # An unsupported address form (systemd 254 vsock) is disabled, not an error.
    assert not SystemdNotifier({"NOTIFY_SOCKET": "vsock:2:1234"}).enabled


def test_vanished_socket_does_not_raise_and_warns_once(tmp_path: Path) -> None:
    path = tmp_path / "gone.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.close()
    path.unlink()
    with capture_logs() as logs, SystemdNotifier({"NOTIFY_SOCKET": str(path)}) as n:
        assert n.enabled
        n.ready("up")
        n.watchdog()
        n.stopping()
    levels = [e["log_level"] for e in logs if e["event"] == "notify_failed"]
    assert levels == ["warning", "debug", "debug"]


def test_after_close_sending_is_a_no_op(
    listener: tuple[socket.socket, str], notifier: SystemdNotifier
) -> None:
    sock, _ = listener
    notifier.close()
    assert not notifier.enabled
    notifier.ready()
    sock.settimeout(0)
    with pytest.raises(BlockingIOError):
        sock.recv(4096)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"WATCHDOG_USEC": "30000000"}, 15.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "<self>"}, 15.0),
        ({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}, None),  # meant for another
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "soon"}, None),
        ({}, None),
    ],
)
def test_watchdog_interval(
    listener: tuple[socket.socket, str], env: dict[str, str], expected: float | None
) -> None:
    environ = {"NOTIFY_SOCKET": listener[1], **env}
    if environ.get("WATCHDOG_PID") == "<self>":
        environ["WATCHDOG_PID"] = str(os.getpid())
    with SystemdNotifier(environ) as n:
        assert n.watchdog_interval() == expected


def test_watchdog_needs_the_notify_socket() -> None:
    assert SystemdNotifier({"WATCHDOG_USEC": "30000000"}).watchdog_interval() is None


def test_children_do_not_inherit_the_notify_variables() -> None:
    env = {"NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "1", "WATCHDOG_PID": "2", "PATH": "/bin"}
    assert without_notify_env(env) == {"PATH": "/bin"}
