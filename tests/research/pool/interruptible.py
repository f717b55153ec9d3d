"""A small pool program for the Ctrl-C tests: `python -m tests.research.pool.interruptible MODE`.

Two workers, four units. MODE `cooperative`: a unit works until the pool stops;
`stubborn`: a unit never looks (only killing ends it). Prints `started PID` as each unit
starts, the pool's notices, `failed INDEX CAUSE` and, last, `ending NAME`.
"""

from __future__ import annotations

import os
import sys
import threading
import time

from tradd.research.pool import Event, Failed, ForkPool, Note, Reporter, UnitFunction


def work(mode: str) -> UnitFunction[int, int]:
    def unit(number: int, reporter: Reporter) -> int:
        reporter.note(os.getpid())
        if mode == "stubborn":
            threading.Event().wait()
        while not reporter.stopping():
            time.sleep(0.01)  # a slice of the unit's work, not a wait for the test
        return number

    return unit


def show(event: Event[int]) -> None:
    if isinstance(event, Note):
        print(f"started {event.payload}", flush=True)
    elif isinstance(event, Failed):
        print(f"failed {event.index} {event.cause.value}", flush=True)


def main() -> None:
    mode = sys.argv[1]
    pool: ForkPool[int, int] = ForkPool(
        lambda _slot: work(mode), 2, notice=lambda text: print(text, flush=True)
    )
    ending = pool.run(range(4), show)
    print(f"ending {ending.value}", flush=True)


if __name__ == "__main__":
    main()
