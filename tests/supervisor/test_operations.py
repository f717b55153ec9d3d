"""Reload, systemd notifications, peer credentials and fuzzed control messages, against a
real `tradd run`."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import socket
import tempfile
from pathlib import Path

from tests.fixtures.simulator import eventually, strategy_entry
from tradd.control.protocol import ErrorCode

from .conftest import daemon_document, write_document

ERROR_CODES = {str(code) for code in ErrorCode}


def test_reload_adds_removes_and_restarts_only_what_changed(
    tmp_path, simulator, sqlite_url, start_daemon
) -> None:
    entries = [strategy_entry("s1"), strategy_entry("s2", client_id=12, symbols=["ORCL"])]
    document = daemon_document(tmp_path, simulator, sqlite_url, entries)
    daemon = start_daemon(document)
    before = {n: daemon.wait_trading(n)["pid"] for n in ("s1", "s2")}
    changed = [strategy_entry("s2", client_id=12, symbols=["ORCL"], position_pct=2.0),
               strategy_entry("s3", client_id=13, symbols=["NVDA"])]  # fmt: skip
    write_document(daemon.config, {**document, "strategies": changed})
    plan = daemon.result("reload")
    assert plan == {"added": ["s3"], "removed": ["s1"], "changed": ["s2"], "unchanged": []}
    assert daemon.wait_trading("s3")["state"] == "RUNNING"
    assert daemon.wait_trading("s2")["pid"] != before["s2"]
    assert "s1" not in daemon.strategies()
    unchanged_pid = daemon.strategies()["s3"]["pid"]
    write_document(daemon.config, {**document, "strategies": [*changed, {"name": "bad name!"}]})
    refused = daemon.call("reload")
    assert refused["error"]["code"] == "config_invalid"
    assert any("strategies" in d for d in refused["error"]["details"])
    assert set(daemon.strategies()) == {"s2", "s3"}
    os.kill(daemon.proc.pid, signal.SIGHUP)  # the same bad file: rejected again, nothing moves
    events = eventually(lambda: [e for e in daemon.result("events")["events"]
                                 if e["kind"] == "reload_rejected"][1:], 10)  # fmt: skip
    assert events
    assert daemon.strategies()["s3"]["pid"] == unchanged_pid


def test_systemd_notifications_arrive_on_the_notify_socket(
    tmp_path, simulator, sqlite_url, start_daemon
) -> None:
    path = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        sock.settimeout(30)
        env = {"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "2000000"}
        document = daemon_document(tmp_path, simulator, sqlite_url, [strategy_entry("s1")])
        daemon = start_daemon(document, env=env, wait=False)

        def until(field: str) -> list[str]:
            seen = []
            while True:
                message = sock.recv(4096).decode()
                seen.append(message)
                if field in message.split("\n"):
                    return seen

        ready = until("READY=1")
        assert any(
            m.startswith("READY=1") and "STATUS=1 strategies: 1 RUNNING" in m for m in ready[-1:]
        )
        assert "WATCHDOG=1" in until("WATCHDOG=1")[-1]
        daemon.proc.send_signal(signal.SIGHUP)
        reloading = until("RELOADING=1")[-1]
        assert "MONOTONIC_USEC=" in reloading
        until("READY=1")
        daemon.proc.send_signal(signal.SIGTERM)
        until("STOPPING=1")
        assert daemon.proc.wait(30) == 0


def connect_as(path: Path, uid: int, gid: int, line: bytes) -> bytes:
    """Send one line from a forked child running as uid:gid; return what it read."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: only syscalls, then _exit
        code = 0
        try:
            os.close(read_end)
            os.setgid(gid)
            os.setuid(uid)
            with socket.socket(socket.AF_UNIX) as sock:
                sock.settimeout(20)
                sock.connect(str(path))
                with contextlib.suppress(BrokenPipeError):  # a refused peer is cut off
                    sock.sendall(line + b"\n")
                os.write(write_end, sock.recv(65536))
        except BaseException as exc:
            os.write(write_end, repr(exc).encode())
            code = 1
        os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as reader:
        out = reader.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, out
    return out


def test_peers_outside_the_allowed_users_are_refused(
    tmp_path, simulator, sqlite_url, start_daemon
) -> None:
    if os.getuid() != 0:
        import pytest

        pytest.skip("needs root to connect as another user")
    shared = Path(tempfile.mkdtemp(prefix="tradd-ctl-", dir="/tmp"))
    shared.chmod(0o755)
    document = daemon_document(tmp_path, simulator, sqlite_url, [strategy_entry("s1")],
                               control={"socket": str(shared / "control.sock"),
                                        "allowed_uids": [65533]})  # fmt: skip
    daemon = start_daemon(document)
    request = b'{"v": 1, "cmd": "health"}'
    refused = json.loads(connect_as(daemon.socket, 65534, 0, request))  # file access via group 0
    assert refused["error"]["code"] == "forbidden" and "65534" in refused["error"]["message"]
    allowed = json.loads(connect_as(daemon.socket, 65533, 0, request))
    assert allowed["ok"] is True
    assert oct(daemon.socket.stat().st_mode & 0o777) == "0o660"
    assert daemon.result("health")["pid"] == daemon.proc.pid


def fuzz_lines(rng: random.Random, count: int) -> list[bytes]:
    names = ["status", "health", "events", "flatten", "stop", "start", "restart", "pause",
             "resume", "reload", "", "STATUS", "nope", "flatten\x00"]  # fmt: skip
    values = [None, True, 0, -1, 1.5, "", "s1", "x" * 300, [], {}, {"a": 1}, [1, 2], "\u2603"]
    lines: list[bytes] = []
    for _ in range(count):
        kind = rng.randrange(8)
        if kind == 0:
            lines.append(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200))).replace(b"\n", b"")
                         or b"x")  # fmt: skip
        elif kind == 1:
            lines.append(b"{" * rng.randrange(1, 50))
        elif kind == 2:
            lines.append(json.dumps(rng.choice(values)).encode())
        elif kind == 3:
            lines.append(
                json.dumps({"v": rng.choice([0, 2, "1", None, True]), "cmd": "status"}).encode()
            )
        elif kind == 4:
            lines.append(b'{"cmd": "status", "args": {"a": ' + b"[" * 5000 + b"]" * 5000 + b"}}")
        else:  # a real command name with a wrong or unknown argument: never a valid request
            args = {rng.choice(["strategy", "all", "since", "zzz"]): rng.choice(values),
                    "unexpected_" + str(rng.randrange(9)): 1}  # fmt: skip
            lines.append(json.dumps({"v": 1, "cmd": rng.choice(names), "args": args}).encode())
    return lines


def test_fuzzed_control_messages_leave_the_daemon_serving(
    tmp_path, simulator, sqlite_url, start_daemon
) -> None:
    document = daemon_document(tmp_path, simulator, sqlite_url, [strategy_entry("s1")])
    daemon = start_daemon(document)
    pid = daemon.wait_trading("s1")["pid"]
    rng = random.Random(20261201)
    lines = fuzz_lines(rng, 3000)
    replies = []
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(30)
        sock.connect(str(daemon.socket))
        reader = sock.makefile("rb")
        for start in range(0, len(lines), 100):
            batch = lines[start : start + 100]
            sock.sendall(b"".join(line + b"\n" for line in batch))
            replies += [json.loads(reader.readline()) for _ in batch]
        sock.sendall(b"x" * (document["control"]["max_request"] + 10) + b"\n")
        assert json.loads(reader.readline())["error"]["code"] == "too_large"
        sock.sendall(b'{"cmd": "health"}\n')
        assert json.loads(reader.readline())["ok"] is True, "same connection still served"
    assert len(replies) == len(lines)
    for line, reply in zip(lines, replies, strict=True):
        assert set(reply) <= {"v", "ok", "result", "error"}, line
        if not reply["ok"]:
            assert reply["error"]["code"] in ERROR_CODES - {"internal"}, (line, reply)
    for _ in range(200):  # connections dropped mid-request
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(str(daemon.socket))
            sock.sendall(b'{"cmd": "sta')
    status = daemon.strategies()["s1"]
    assert status["state"] == "RUNNING" and status["pid"] == pid


def test_the_daemon_serves_metrics_that_pass_promtool(
    tmp_path, simulator, sqlite_url, start_daemon, promtool
) -> None:
    import urllib.request

    from tests.metrics.conftest import run_promtool, samples

    entries = [strategy_entry("s1", params={"script": "1:BUY:10"})]
    document = daemon_document(tmp_path, simulator, sqlite_url, entries,
                               metrics={"enabled": True, "port": 0})  # fmt: skip
    daemon = start_daemon(document)
    daemon.wait_trading("s1")
    url = daemon.result("health")["metrics_url"]
    assert url.startswith("http://127.0.0.1:")
    simulator.call(simulator.gw.advance, 60)

    def scraped() -> dict:
        with urllib.request.urlopen(url, timeout=10) as reply:
            text = reply.read().decode()
        found = samples(text)
        key = ("tradd_position", frozenset({("strategy", "s1"), ("symbol", "GOOG")}))
        return {"text": text, "samples": found} if found.get(key) == 10.0 else {}

    got = eventually(scraped, 20, "position in the metrics")
    s1 = frozenset({("strategy", "s1")})
    assert got["samples"][("tradd_worker_up", s1)] == 1.0
    assert got["samples"][("tradd_worker_state", s1 | {("state", "RUNNING")})] == 1.0
    assert got["samples"][("tradd_fills_total", s1 | {("side", "BUY")})] == 1.0
    assert got["samples"][("tradd_connection_state", s1 | {("state", "connected")})] == 1.0
    assert run_promtool(promtool, "check", "metrics", stdin=got["text"]).strip() == ""
