"""Run functions of `tests.persistence.processes` in several fresh processes at once.

The processes come from a fork server that has imported tradd once: as clean as spawned
ones (no inherited engines, sockets or threads from the test process), without paying
the imports again for every child.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable, Sequence
from queue import Empty
from typing import Any

RESULT_TIMEOUT_S = 120


def run_together(
    target: Callable[..., None], args_per_process: Sequence[tuple[Any, ...]]
) -> list[Any]:
    """Start one process per args tuple (each gets a shared barrier and queue
    appended), wait for all, and return their results; fail with a child's traceback."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["__main__", "tests.persistence.processes"])
    barrier = context.Barrier(len(args_per_process))
    queue = context.Queue()
    processes = [
        context.Process(target=target, args=(*args, barrier, queue), daemon=True)
        for args in args_per_process
    ]
    for process in processes:
        process.start()
    try:
        outcomes = _collect(queue, processes)
    finally:
        for process in processes:
            process.join(timeout=RESULT_TIMEOUT_S)
            if process.is_alive():
                process.kill()
    errors = [detail for status, detail in outcomes if status == "error"]
    assert not errors, "a child process failed:\n" + "\n".join(errors)
    return [detail for _, detail in outcomes]


def _collect(queue: Any, processes: list[Any]) -> list[tuple[str, Any]]:
    """One outcome per process; fails at once if a process died without reporting."""
    deadline = time.monotonic() + RESULT_TIMEOUT_S
    outcomes: list[tuple[str, Any]] = []
    while len(outcomes) < len(processes):
        everyone_exited = not any(process.is_alive() for process in processes)
        try:
            outcomes.append(queue.get(timeout=0.05 if everyone_exited else 0.5))
            continue
        except Empty:
            pass
        codes = [process.exitcode for process in processes]
        assert not everyone_exited, f"child processes exited without reporting: {codes}"
        assert time.monotonic() < deadline, f"child processes still running: {codes}"
    return outcomes
