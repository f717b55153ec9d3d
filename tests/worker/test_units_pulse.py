"""The worker's pulse: what the main loop publishes for the heartbeat, and the channel
answering the heartbeat from it on its own thread while the main loop is busy or stuck."""

from __future__ import annotations

import queue
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.records.samples import status, status_data
from tradd.records.status import WorkerStatus
from tradd.worker.channel import Command, CommandChannel, request
from tradd.worker.pulse import Pulse


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Loop:
    """The fake main loop's state: what a snapshot shows, and how often one was built."""

    def __init__(self) -> None:
        self.state, self.builds, self.unread = "ACTIVE", 0, 0

    def build(self) -> WorkerStatus:
        self.builds += 1
        return status(trading_state=self.state)


def rig(every: float = 0.25) -> tuple[Pulse, Loop, Clock, queue.SimpleQueue[object]]:
    loop, clock, inbox = Loop(), Clock(), queue.SimpleQueue[object]()
    pulse = Pulse(loop.build, lambda: loop.unread, inbox, monotonic=clock, every=every)
    return pulse, loop, clock, inbox


def test_nothing_to_answer_before_the_loop_turned() -> None:
    pulse, loop, _, _ = rig()
    assert pulse.answer() is None and loop.builds == 0


def test_every_turn_counts_but_a_snapshot_is_built_at_most_every_interval() -> None:
    pulse, loop, clock, _ = rig(every=0.25)
    for _ in range(50):  # a busy loop: 50 turns in 0.1 s
        pulse.turned()
        clock.now += 0.002
    assert loop.builds == 1
    assert pulse.answer()["loop_turns"] == 50  # type: ignore[index]
    clock.now += 0.25
    pulse.turned()
    assert loop.builds == 2


def test_the_answer_says_how_long_ago_the_loop_turned_and_what_waits() -> None:
    pulse, loop, clock, inbox = rig()
    loop.unread = 7
    pulse.turned()
    for _ in range(3):
        inbox.put(object())
    clock.now += 4.5  # the loop is stuck in this turn: the answer keeps ageing
    answer = pulse.answer()
    assert answer == {**status_data(), "loop_turns": 1, "loop_age": 4.5, "backlog": 10}


def test_a_change_is_published_at_once_not_at_the_next_interval() -> None:
    pulse, loop, clock, _ = rig(every=60.0)
    pulse.turned()
    loop.state = "REDUCING"  # a pause, handled within the interval
    clock.now += 0.01
    pulse.publish()
    assert pulse.answer()["trading_state"] == "REDUCING"  # type: ignore[index]


def test_a_failing_snapshot_keeps_the_last_one_and_the_turns_count() -> None:
    pulse, _, clock, _ = rig(every=0.0)
    pulse.turned()

    def broken() -> dict[str, Any]:
        raise RuntimeError("a bug in the snapshot")

    pulse._build = broken
    clock.now += 1.0
    pulse.turned()
    answer = pulse.answer()
    assert answer is not None
    assert (answer["trading_state"], answer["loop_turns"], answer["loop_age"]) == ("ACTIVE", 2, 0)


# -- the channel answers it on its own thread ------------------------------------------------
@pytest.fixture
def channel_of() -> Iterator[Any]:
    made: list[CommandChannel] = []
    where = Path(tempfile.mkdtemp(prefix="tradd-pulse-", dir="/tmp"))  # AF_UNIX path limit

    def make(pulse: Pulse, inbox: queue.SimpleQueue[object]) -> CommandChannel:
        channel = CommandChannel(where / "w.sock", inbox, 1.0, beat=pulse.answer)
        channel.start()
        made.append(channel)
        return channel

    yield make
    for channel in made:
        channel.close()
    shutil.rmtree(where, ignore_errors=True)


def test_a_heartbeat_is_answered_while_nothing_serves_the_queue(channel_of) -> None:
    """The main loop is busy (or stuck): nobody takes from the inbox. The heartbeat is
    answered at once all the same, with the loop's age; it is never queued."""
    pulse, _, clock, inbox = rig()
    pulse.turned()
    inbox.put(object())  # a bar the loop has yet to get to
    clock.now += 2.0
    channel = channel_of(pulse, inbox)
    reply = request(channel.path, "heartbeat", timeout=5)
    pulse_said = {"loop_turns": 1, "loop_age": 2.0, "backlog": 1}
    assert reply == {"ok": True, "result": {**status_data(), **pulse_said}}
    assert inbox.qsize() == 1  # only the bar


def test_a_heartbeat_before_the_first_turn_goes_to_the_main_loop_as_status(channel_of) -> None:
    pulse, _, _, inbox = rig()
    channel = channel_of(pulse, inbox)
    asked: list[str] = []

    def main_loop() -> None:
        command = inbox.get(timeout=10)
        assert isinstance(command, Command)
        asked.append(command.name)
        command.reply.set_result({"answered_by": "the main loop"})

    loop = threading.Thread(target=main_loop, daemon=True)
    loop.start()
    reply = request(channel.path, "heartbeat", timeout=10)
    loop.join(10)
    assert reply == {"ok": True, "result": {"answered_by": "the main loop"}}
    assert asked == ["status"]
