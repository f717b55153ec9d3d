"""The command channel: a `CommandChannel` on a real Unix socket answered by a fake main
loop, and the `EventLog` whose ring buffer the `events` command serves (the request
parsing itself: tests/records/test_worker_protocol.py)."""

from __future__ import annotations

import json
import queue
import shutil
import socket
import stat
import tempfile
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tradd.records.events import EventKind, HaltCause
from tradd.records.worker_protocol import MAX_REQUEST, WorkerErrorCode
from tradd.worker import channel as channel_module
from tradd.worker.channel import Command, CommandChannel, CommandError, request
from tradd.worker.events import EventLog


# -- CommandChannel on a socket ------------------------------------------------------------------
def short_dir() -> Path:
    # AF_UNIX paths are limited to ~108 bytes; pytest's tmp_path can be longer
    return Path(tempfile.mkdtemp(prefix="tradd-ch-", dir="/tmp"))


STOP = object()


class MainLoop:
    """Fake worker main loops: threads that take commands off the inbox and resolve them."""

    def __init__(self, inbox: queue.SimpleQueue[object]) -> None:
        self.inbox = inbox
        self.threads: list[threading.Thread] = []

    def start(self, answer: Callable[[Command], None], count: int = 1) -> list[Command]:
        seen: list[Command] = []

        def run() -> None:
            for _ in range(count):
                try:
                    command = self.inbox.get(timeout=5)
                except queue.Empty:
                    return
                if command is STOP:
                    return
                assert isinstance(command, Command)
                seen.append(command)
                answer(command)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        self.threads.append(thread)
        return seen

    def stop(self) -> None:
        alive = [t for t in self.threads if t.is_alive()]
        for _ in alive:
            self.inbox.put(STOP)
        for thread in alive:
            thread.join(5)


def drain(inbox: queue.SimpleQueue[object]) -> None:
    while not inbox.empty():
        inbox.get_nowait()


Rigged = tuple[CommandChannel, "queue.SimpleQueue[object]", MainLoop]


@pytest.fixture(scope="module")
def shared() -> Iterator[tuple[CommandChannel, queue.SimpleQueue[object]]]:
    """One channel for the module: closing one takes up to socketserver's 0.5 s poll."""
    folder = short_dir()
    inbox: queue.SimpleQueue[object] = queue.SimpleQueue()
    channel = CommandChannel(folder / "w.sock", inbox, 5.0)
    channel.start()
    yield channel, inbox
    channel.close()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def chan(shared, monkeypatch) -> Iterator[Callable[..., Rigged]]:
    """The shared channel, its inbox emptied, with the flatten timeout this test wants."""
    channel, inbox = shared
    drain(inbox)
    loops = MainLoop(inbox)

    def use(timeout: float = 5.0) -> Rigged:
        monkeypatch.setattr(channel, "_timeout", timeout)
        return channel, inbox, loops

    yield use
    loops.stop()
    drain(inbox)


def echo(command: Command) -> None:
    command.reply.set_result({"name": command.name, "args": dict(command.args)})


class Client:
    """One connection, several request lines on it (as a supervisor may keep it open)."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(5)
        self.sock.connect(str(path))
        self.file = self.sock.makefile("rb")

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def reply(self) -> dict:
        return json.loads(self.file.readline())

    def close(self) -> None:
        self.file.close()
        self.sock.close()


def test_command_is_carried_out_by_the_main_loop_and_answered(chan) -> None:
    channel, _, loops = chan()
    seen = loops.start(echo)
    reply = request(channel.path, "events", timeout=5, since=3)
    assert reply == {"ok": True, "result": {"name": "events", "args": {"since": 3}}}
    assert [(c.name, c.args) for c in seen] == [("events", {"since": 3})]


def test_command_error_from_the_main_loop_is_an_error_reply(chan) -> None:
    channel, _, loops = chan()

    def refuse(command: Command) -> None:
        error = CommandError(WorkerErrorCode.CONFLICT, "a flatten is already in progress")
        command.reply.set_exception(error)

    loops.start(refuse)
    assert request(channel.path, "flatten", timeout=5) == {
        "ok": False,
        "error": {"code": "conflict", "message": "a flatten is already in progress"},
    }


def test_reply_values_that_json_cannot_encode_are_sent_as_strings(chan) -> None:
    channel, _, loops = chan()
    when = datetime(2024, 3, 11, 14, 0, tzinfo=UTC)
    loops.start(lambda c: c.reply.set_result({"at": when}))
    assert request(channel.path, "status", timeout=5)["result"] == {"at": str(when)}


def test_bad_requests_are_answered_in_order_and_never_reach_the_main_loop(chan) -> None:
    channel, inbox, _ = chan()
    client = Client(channel.path)
    try:
        client.send(b'not json\n[1]\n{"cmd": "dance"}\n')
        assert [client.reply()["error"]["code"] for _ in range(3)] == [
            "bad_json",
            "bad_request",
            "unknown_command",
        ]
    finally:
        client.close()
    assert inbox.empty()


def test_several_requests_on_one_connection_are_answered_in_order(chan) -> None:
    channel, _, loops = chan()
    loops.start(echo, count=2)
    client = Client(channel.path)
    try:
        client.send(b'{"cmd": "ping"}\n{"cmd": "status", "verbose": true}\n')
        assert client.reply()["result"] == {"name": "ping", "args": {}}
        assert client.reply()["result"] == {"name": "status", "args": {"verbose": True}}
    finally:
        client.close()


@pytest.mark.parametrize("cmd", ["flatten", "stop"])
def test_unanswered_flatten_or_stop_times_out_after_the_channels_timeout(chan, cmd) -> None:
    """Nobody resolves the command. The channel waits `timeout + 2 s`; a timeout of -1.9 s
    makes that 0.1 s here."""
    channel, inbox, _ = chan(timeout=-1.9)
    assert request(channel.path, cmd, timeout=5) == {
        "ok": False,
        "error": {"code": "timeout", "message": f"the worker did not answer {cmd!r} in time"},
    }
    queued = inbox.get_nowait()  # it was queued: a hung main loop simply never took it
    assert isinstance(queued, Command) and queued.name == cmd


def test_other_commands_time_out_after_the_answer_timeout(chan, monkeypatch) -> None:
    channel, _, _ = chan(timeout=600.0)  # the flatten timeout is not theirs
    monkeypatch.setattr(channel_module, "ANSWER_TIMEOUT", -1.9)
    assert request(channel.path, "status", timeout=5)["error"]["code"] == "timeout"


def test_a_flatten_timeout_argument_does_not_change_the_wait_or_break_the_reply(chan) -> None:
    channel, _, _ = chan(timeout=-1.9)
    client = Client(channel.path)
    try:
        client.send(b'{"cmd": "flatten", "timeout": "soon"}\n{"cmd": "flatten", "timeout": 600}\n')
        assert client.reply()["error"]["code"] == "timeout"
        assert client.reply()["error"]["code"] == "timeout"  # in 0.1 s, not 602 s
    finally:
        client.close()


def test_oversized_line_gets_one_reply_and_its_tail_is_not_a_command(chan) -> None:
    channel, _, loops = chan()
    seen = loops.start(echo, count=2)
    client = Client(channel.path)
    try:
        client.send(b" " * (MAX_REQUEST + 1) + b'{"cmd": "stop"}\n{"cmd": "ping"}\n')
        assert client.reply()["error"]["code"] == "too_large"
        assert client.reply()["result"]["name"] == "ping"
    finally:
        client.close()
    assert [c.name for c in seen] == ["ping"]


def test_socket_file_replaces_a_stale_one_is_owner_only_and_is_removed_on_close() -> None:
    folder = short_dir()
    try:
        path = folder / "run" / "w.sock"
        path.parent.mkdir()
        path.write_text("left over from a crash")

        channel = CommandChannel(path, queue.SimpleQueue(), 5.0)
        channel.start()
        try:
            assert stat.S_ISSOCK(path.stat().st_mode)
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
            assert request(path, "nonsense", timeout=5)["error"]["code"] == "unknown_command"
        finally:
            channel.close()
        assert not path.exists()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# -- EventLog --------------------------------------------------------------------------------
class Clock:
    def __init__(self) -> None:
        self.now = datetime(2024, 3, 11, 14, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def test_events_are_numbered_from_one_and_stamped_by_the_clock() -> None:
    log = EventLog("s1", Clock())
    first = log.emit(EventKind.DISCONNECTED, "warning", "IB link lost", code=1100)
    second = log.emit(EventKind.RECONNECTED, "info", "back")
    assert (first.seq, second.seq) == (1, 2)
    assert first.at == datetime(2024, 3, 11, 14, 0, 1, tzinfo=UTC)
    assert second.at == datetime(2024, 3, 11, 14, 0, 2, tzinfo=UTC)
    assert first.data == {"code": 1100}
    assert first.as_dict() == {
        "seq": 1,
        "at": "2024-03-11T14:00:01+00:00",
        "kind": "disconnected",
        "severity": "warning",
        "message": "IB link lost",
        "data": {"code": 1100},
    }
    halt = log.emit(EventKind.HALTED, "critical", "strategy error: boom",
                    cause=HaltCause.STRATEGY_ERROR)  # fmt: skip
    assert halt.as_dict()["cause"] == "strategy_error" and halt.data == {}


def test_since_returns_only_later_events_in_order() -> None:
    log = EventLog("s1", Clock())
    kinds = [EventKind.RISK_BREACH, EventKind.MISMATCH, EventKind.HALTED, EventKind.FLATTEN]
    for kind in kinds:
        log.emit(kind, "info", kind)
    assert [e.kind for e in log.since(0)] == kinds
    assert [e.seq for e in log.since(2)] == [3, 4]
    assert log.since(4) == []
    assert log.since(99) == []


def test_ring_buffer_keeps_the_newest_and_numbering_continues() -> None:
    log = EventLog("s1", Clock(), keep=3)
    kinds = list(EventKind)[:5]
    for kind in kinds:
        log.emit(kind, "critical", "m")
    assert [e.seq for e in log.since(0)] == [3, 4, 5]
    assert log.kinds() == kinds[2:]
    assert log.emit(EventKind.TEST, "info", "m").seq == 6
