"""Resource exhaustion, end to end: a real `tradd run` with a low file-descriptor limit.

An idle-connection flood on the control socket must not take status, flatten or the
workers' heartbeats with it; the supervisor running out of descriptors itself (its limit
lowered under it with prlimit) must back off and retry a worker's spawn rather than give
up on it, never count its own EMFILE as a worker hang, and recover once descriptors are
back.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.simulator import eventually, strategy_entry
from tradd.config.daemon import SupervisorSettings
from tradd.supervisor.policy import RestartPolicy

from .conftest import daemon_document

FLOOD = 1100
LOW_NOFILE = 256
QUICK_HANG = {"heartbeat_timeout": 3.0}
"""A heartbeat timeout short enough that a flood lasting a few of them would show a
worker wrongly killed as hung."""
QUICK_IB = {"request_timeout": 2.0}
"""The heartbeat timeout must exceed it."""


def two_strategies() -> list[dict]:
    return [strategy_entry("s1"), strategy_entry("s2", client_id=12, symbols=["ORCL"])]


def fd_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def spare_fd(pid: int) -> int:
    """The control server's spare descriptor (/dev/null, opened early at start): below it
    every descriptor is held for the daemon's life, so a limit just above it leaves the
    daemon nothing to open but what the spare gives up."""
    nulls = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):
            if int(fd) > 2 and os.readlink(f"/proc/{pid}/fd/{fd}") == os.devnull:
                nulls.append(int(fd))
    return min(nulls)


def set_nofile(pid: int, soft: int) -> None:
    _, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (soft, hard))


@contextlib.contextmanager
def idle_connections(path: Path, count: int) -> Iterator[list[socket.socket]]:
    """`count` connections that connect and then say nothing (those the daemon never
    accepts are counted as held too: the point is what the daemon does meanwhile)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < count + 256:  # this test process holds them all (CI's default soft limit: 1024)
        if hard != resource.RLIM_INFINITY and hard < count + 256:
            pytest.skip(f"RLIMIT_NOFILE hard limit {hard} < {count + 256}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (count + 256, hard))
    held: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.setblocking(False)
            held.append(sock)
            with contextlib.suppress(BlockingIOError, ConnectionRefusedError):
                sock.connect(str(path))  # a full accept queue: EAGAIN, still held
        yield held
    finally:
        for sock in held:
            sock.close()


def timed(daemon, cmd: str, **args) -> tuple[dict, float]:
    started = time.monotonic()
    reply = daemon.call(cmd, timeout=1.0, **args)
    return reply, time.monotonic() - started


def kinds(daemon) -> list[str]:
    return [e["kind"] for e in daemon.result("events")["events"]]


def test_spawns_failing_for_want_of_resources_back_off_and_never_end_in_fatal() -> None:
    policy = RestartPolicy(SupervisorSettings(backoff_initial=1, backoff_max=8, crash_limit=2))
    assert [policy.on_short() for _ in range(6)] == [1, 2, 4, 8, 8, 8]
    assert policy.on_crash(0.0, 1.0) == 1  # shortages are not crashes: one crash so far
    policy.spawned()
    assert policy.on_short() == 1


def test_an_idle_flood_leaves_status_flatten_and_the_workers_alone(
    tmp_path, simulator, sqlite_url, start_daemon
) -> None:
    document = daemon_document(tmp_path, simulator, sqlite_url, two_strategies(),
                               supervisor=QUICK_HANG, broker=QUICK_IB)  # fmt: skip
    daemon = start_daemon(document)
    pids = {n: daemon.wait_trading(n)["pid"] for n in ("s1", "s2")}
    before = fd_count(daemon.proc.pid)
    set_nofile(daemon.proc.pid, LOW_NOFILE)
    with idle_connections(daemon.socket, FLOOD):
        began = time.monotonic()
        while time.monotonic() - began < 3 * QUICK_HANG["heartbeat_timeout"]:
            reply, took = timed(daemon, "status")
            assert reply["ok"] and took < 1.0, (reply, took)
            assert {s["name"]: s["pid"] for s in reply["result"]["strategies"]} == pids
        assert fd_count(daemon.proc.pid) < LOW_NOFILE
        reply, took = timed(daemon, "flatten", strategy="s1")
        assert reply["ok"] and took < 1.0, (reply, took)
    assert "worker_hung" not in kinds(daemon)
    assert "worker_fatal" not in kinds(daemon)
    status = daemon.strategies()
    assert status["s1"]["pid"] == pids["s1"] and status["s2"]["pid"] == pids["s2"]
    assert status["s1"]["state"] == status["s2"]["state"] == "RUNNING"
    assert daemon.result("resume", strategy="s1") is not None
    eventually(lambda: fd_count(daemon.proc.pid) <= before + 8, 10, "the flood's fds closed")
    log = daemon.output.read_text()
    assert log.count("Traceback") == 0, log[-3000:]


def test_the_supervisor_out_of_descriptors_backs_off_and_recovers(
    tmp_path, simulator, sqlite_url, start_daemon
) -> None:
    document = daemon_document(tmp_path, simulator, sqlite_url, two_strategies(),
                               supervisor=QUICK_HANG, broker=QUICK_IB)  # fmt: skip
    daemon = start_daemon(document)
    pids = {n: daemon.wait_trading(n)["pid"] for n in ("s1", "s2")}
    _, hard = resource.prlimit(daemon.proc.pid, resource.RLIMIT_NOFILE)
    set_nofile(daemon.proc.pid, spare_fd(daemon.proc.pid) + 1)  # not one descriptor more
    try:
        os.kill(pids["s1"], signal.SIGKILL)
        daemon.wait_state("s1", "BACKOFF", 20, lambda s: "Too many open files" in s["reason"])
        # s2 cannot be heartbeaten either: that is the supervisor's fault, not s2's
        eventually(lambda: _silent_for(daemon, "s2", 3 * QUICK_HANG["heartbeat_timeout"]), 30,
                   "s2 unheard for three heartbeat timeouts")  # fmt: skip
        assert daemon.strategies()["s1"]["state"] == "BACKOFF"
    finally:
        set_nofile(daemon.proc.pid, hard)
    again = daemon.wait_trading("s1", 60)
    assert again["pid"] != pids["s1"]
    assert daemon.strategies()["s2"]["pid"] == pids["s2"]
    assert "worker_hung" not in kinds(daemon) and "worker_fatal" not in kinds(daemon)
    assert "worker_spawn_failed" in kinds(daemon)
    out = daemon.output.read_text()  # the accept loop paused, and said so once per window
    assert out.count("cannot accept") <= 4 and "Traceback" not in out, out[-3000:]


def _silent_for(daemon, name: str, seconds: float) -> bool:
    s = daemon.strategies()[name]
    return s["state"] == "RUNNING" and (s["heartbeat_age"] or 0) > seconds
