"""Busy is not hung: a real `tradd run` with a short heartbeat timeout.

A worker whose strategy takes 50 ms a bar, fed bars far faster, falls seconds behind; its
main loop keeps turning, so the supervisor must leave it be (it answers the heartbeat from
what the loop last published) and show the backlog. A worker whose loop stops turning
while its threads live on (a strategy stuck in `next`), or that is frozen whole (SIGSTOP),
is hung: killed and restarted as before.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tests.fixtures.simulator import eventually, strategy_entry
from tradd.supervisor.daemonize import pid_alive

from .conftest import daemon_document

HEARTBEAT_TIMEOUT = 3.0
QUICK = {"supervisor": {"heartbeat_timeout": HEARTBEAT_TIMEOUT}, "broker": {"request_timeout": 2.0}}
"""The heartbeat timeout must exceed the IB request timeout (the loader says so)."""
BARS = 120
WORK = 0.05
"""The strategy's seconds per bar: BARS of them keep the loop busy twice the timeout."""


def events(daemon) -> list[dict[str, Any]]:
    return list(daemon.result("events")["events"])


def test_a_worker_behind_on_its_bars_is_busy_not_hung(
    tmp_path, simulator, sqlite_url, start_daemon
) -> None:
    entry = strategy_entry("slow", strategy="tests.supervisor.strategies.Slow", bar="5s",
                           params={"work": WORK})  # fmt: skip
    daemon = start_daemon(daemon_document(tmp_path, simulator, sqlite_url, [entry], **QUICK))
    first = daemon.wait_trading("slow")
    began = time.monotonic()
    simulator.call(simulator.gw.advance, 5 * BARS)  # BARS bars at once: seconds of work
    last = simulator.call(lambda: simulator.gw.sim_datetime) - timedelta(seconds=5)
    seen: list[dict[str, Any]] = []

    def caught_up() -> bool:
        worker = daemon.strategies()["slow"]
        seen.append(worker)
        assert (worker["state"], worker["pid"]) == ("RUNNING", first["pid"]), worker["reason"]
        bar = worker["worker"].get("last_bar")
        done = bar is not None and datetime.fromisoformat(bar) >= last
        return done and worker["worker"].get("backlog") == 0

    eventually(caught_up, 60, "the slow strategy through every bar")
    busy_for = time.monotonic() - began
    assert busy_for > HEARTBEAT_TIMEOUT, "the loop was behind for longer than the timeout"
    assert max(s["worker"].get("backlog") or 0 for s in seen) > 10, "status showed the backlog"
    # a status answered by the main loop itself carries no loop_age: it was turning (0)
    assert max(s["worker"].get("loop_age", 0.0) for s in seen) < HEARTBEAT_TIMEOUT
    assert seen[-1]["restarts"] == 0
    assert "worker_hung" not in [e["kind"] for e in events(daemon)]


def test_a_worker_whose_loop_stops_turning_is_killed_as_hung(
    tmp_path: Path, simulator, sqlite_url, start_daemon
) -> None:
    hang = tmp_path / "hang"
    entry = strategy_entry("stuck", strategy="tests.supervisor.strategies.Stuck", bar="5s",
                           params={"hang": str(hang)})  # fmt: skip
    daemon = start_daemon(daemon_document(tmp_path, simulator, sqlite_url, [entry], **QUICK))
    first = daemon.wait_trading("stuck")
    hang.touch()
    simulator.call(simulator.gw.advance, 5)  # one bar: the strategy never returns from it
    # its channel thread still answers the heartbeat, saying the loop does not turn
    eventually(lambda: daemon.strategies()["stuck"]["worker"].get("loop_age", 0) > 1.0,
               HEARTBEAT_TIMEOUT + 5, "the heartbeat answered while the loop is stuck")  # fmt: skip
    hung = eventually(lambda: [e for e in events(daemon) if e["kind"] == "worker_hung"],
                      HEARTBEAT_TIMEOUT + 10, "killed as hung")  # fmt: skip
    hang.unlink()  # the next worker is left to trade (no bar comes before this: speed 0)
    assert len(hung) == 1 and "main loop made no progress" in hung[0]["message"], hung
    eventually(lambda: not pid_alive(first["pid"]), 10, "the stuck worker gone")

    # frozen whole (its channel thread too): no answer at all, killed all the same
    second = daemon.wait_state("stuck", "RUNNING", 60, lambda s: s["pid"] != first["pid"])
    os.kill(second["pid"], signal.SIGSTOP)
    try:
        third = daemon.wait_state("stuck", "RUNNING", 60,
                                  lambda s: s["pid"] not in (first["pid"], second["pid"]))  # fmt: skip
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(second["pid"], signal.SIGCONT)
    hung = [e for e in events(daemon) if e["kind"] == "worker_hung"]
    assert len(hung) == 2 and "no heartbeat for" in hung[1]["message"], hung
    assert third["restarts"] == 2
