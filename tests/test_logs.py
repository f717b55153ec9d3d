"""Repeated log lines are collapsed: a failing loop costs a line per window, with a count."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import structlog

from tradd.config.settings import LogSettings
from tradd.logs import RepeatLimiter, configure_logging


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def run(limiter: RepeatLimiter, **event: object) -> dict[str, object] | None:
    try:
        return dict(limiter(None, "warning", dict(event)))
    except structlog.DropEvent:
        return None


def test_identical_lines_within_the_window_are_dropped_and_counted() -> None:
    clock = Clock()
    limiter = RepeatLimiter(10.0, clock)
    line = {"event": "accept failed", "error": "EMFILE", "timestamp": "t0"}
    assert run(limiter, **line) == line
    for second in range(9):
        clock.now = 100.0 + second
        assert run(limiter, **{**line, "timestamp": f"t{second}"}) is None
    clock.now = 110.0
    assert run(limiter, **line) == {**line, "repeated": 9}
    clock.now = 111.0
    assert run(limiter, **line) is None  # a new window began at 110


def test_lines_that_differ_in_any_field_are_all_kept() -> None:
    limiter = RepeatLimiter(10.0, Clock())
    kept = [run(limiter, event="order refused", orderRef=f"s1-{n}") for n in range(5)]
    assert all(kept)
    assert run(limiter, event="order refused", orderRef="s1-1") is None
    assert run(limiter, event="other", orderRef="s1-1") is not None


def test_a_zero_window_keeps_everything() -> None:
    limiter = RepeatLimiter(0.0, Clock())
    assert all(run(limiter, event="same") for _ in range(3))


def test_a_storm_of_one_line_is_one_line_in_the_file(
    tmp_path: Path, restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    path = configure_logging(LogSettings(dir=tmp_path), "storm", console=True)
    log = structlog.get_logger("tradd.test")
    stdlib = logging.getLogger("asyncio")
    for _ in range(1000):
        log.warning("socket accept failed", error="[Errno 24] Too many open files")
        stdlib.error("socket.accept() out of system resource")
    log.warning("something else")
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["event"] for line in lines] == [
        "socket accept failed",
        "socket.accept() out of system resource",
        "something else",
    ]
    stderr = capsys.readouterr().err
    assert stderr.count("socket accept failed") == 1
    assert stderr.count("out of system resource") == 1


def test_an_exception_logged_keeps_its_traceback_in_the_file_and_on_the_console(
    tmp_path: Path, restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """The JSON line said `exc_info: true` and nothing else: a crash left no traceback."""
    path = configure_logging(LogSettings(dir=tmp_path), "crashy", console=True)
    try:
        raise RuntimeError("the cause of it all")
    except RuntimeError:
        structlog.get_logger("tradd.test").exception("worker failed")
    try:
        raise ValueError("from the library")
    except ValueError:
        logging.getLogger("ib_async.client").exception("callback failed")
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    for line, text in zip(lines, ("RuntimeError: the cause of it all", "ValueError"), strict=True):
        assert "Traceback (most recent call last)" in line["exception"]
        assert text in line["exception"]
        assert "exc_info" not in line
    assert "the cause of it all" in capsys.readouterr().err


def test_distinct_lines_are_forgotten_once_their_window_is_over() -> None:
    """Most lines are distinct (order refs, exec ids): a long-running worker kept up to
    4,096 of them, MiBs, for nothing (issue 15: workers grew)."""
    clock = Clock()
    limiter = RepeatLimiter(10.0, clock)
    for n in range(10_000):
        clock.now = 100.0 + n / 10  # ten lines a second, each one different
        assert run(limiter, event="fill", exec_id=f"e{n}") is not None
    assert limiter.remembered <= 2 * 10 * 10  # two windows' worth at most
    limiter.allow("storm")
    assert limiter.allow("storm") is None  # a repeat's count survives the sweeps
    clock.now += 25.0
    assert limiter.allow("storm") == 1
