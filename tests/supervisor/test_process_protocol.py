"""A worker that answers in a shape the supervisor does not know (an unknown status key, a
wrong type, an unknown event kind) is not answering: logged, rate-limited and naming the
field, never a crash of the supervisor nor a half-read status."""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from tests.fixtures.simulator import strategy_entry, worker_settings
from tests.records.samples import status_data
from tradd.records.events import Event
from tradd.records.states import WorkerState
from tradd.records.status import Heartbeat
from tradd.supervisor.process import PROTOCOL_LOG_EVERY, SpawnSpec, WorkerProcess


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class AliveProcess:
    """Stands in for the worker's process: alive, never exits."""

    pid, returncode = 4242, None


@pytest.fixture
def folder() -> Iterator[Path]:
    where = Path(tempfile.mkdtemp(prefix="tp-", dir="/tmp"))  # short: a Unix socket path
    yield where
    shutil.rmtree(where, ignore_errors=True)


def worker_for(folder: Path, clock: Clock, heard: list[Event]) -> WorkerProcess:
    settings = worker_settings(folder, 4002, "sqlite://", [strategy_entry()])
    spawn = SpawnSpec((sys.executable,), folder, {})
    worker = WorkerProcess(settings.strategy("s1"), settings.supervisor, spawn,
                           folder / "w.sock", monotonic=clock, emit=lambda *a, **k: None,
                           wake=lambda: None, on_event=lambda _n, e: heard.append(e))  # fmt: skip
    worker.process = AliveProcess()  # type: ignore[assignment]
    worker.state = WorkerState.STARTING
    return worker


async def serve(path: Path, replies: dict[str, Any]) -> asyncio.Server:
    """A worker socket answering each command with `replies[cmd]`."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = json.loads(await reader.readline())
        writer.write(json.dumps({"ok": True, "result": replies[request["cmd"]]}).encode() + b"\n")
        await writer.drain()
        writer.close()

    return await asyncio.start_unix_server(answer, str(path))


def test_a_status_that_does_not_validate_is_no_answer_logged_once_a_while(folder) -> None:
    clock, heard = Clock(), []
    worker = worker_for(folder, clock, heard)
    replies: dict[str, Any] = {"heartbeat": status_data(mood="cheerful"), "events": {"events": []}}

    async def scenario() -> list[dict[str, Any]]:
        server = await serve(worker.channel, replies)
        with capture_logs() as logs:
            await worker.heartbeat()
            clock.now += 1.0
            await worker.heartbeat()  # the same again within the minute: not logged again
            assert (worker.state, worker.snapshot) == (WorkerState.STARTING, None)
            clock.now += PROTOCOL_LOG_EVERY
            replies["heartbeat"] = status_data(equity="a lot")
            await worker.heartbeat()
            replies["heartbeat"] = status_data(loop_turns=3, loop_age=0.5, backlog=0)
            await worker.heartbeat()
        server.close()
        return [entry for entry in logs if entry["log_level"] == "error"]

    errors = asyncio.run(scenario())
    assert [e["problem"].split(":")[0] for e in errors] == ["mood", "equity"]
    assert "'cheerful'" in errors[0]["problem"] and errors[0]["strategy"] == "s1"
    assert worker.state is WorkerState.RUNNING and isinstance(worker.snapshot, Heartbeat)


def test_events_of_an_unknown_kind_are_refused_whole(folder) -> None:
    clock, heard = Clock(), []
    worker = worker_for(folder, clock, heard)
    good = {"seq": 1, "at": "2024-03-11T14:00:01+00:00", "kind": "disconnected",
            "severity": "warning", "message": "IB link lost", "data": {}}  # fmt: skip
    replies = {"events": {"events": [good, {**good, "seq": 2, "kind": "coffee_break"}]}}

    async def scenario() -> list[dict[str, Any]]:
        server = await serve(worker.channel, replies)
        with capture_logs() as logs:
            await worker._listen(worker.process)  # type: ignore[arg-type]
        server.close()
        return logs

    logs = asyncio.run(scenario())
    assert heard == []
    [error] = [e for e in logs if e["log_level"] == "error"]
    assert error["command"] == "events" and error["problem"].startswith("events.1.kind:")
