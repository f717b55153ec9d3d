"""Strategies for supervisor tests."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from tradd.strategy import Strategy


class Crashing(Strategy):
    """Fails as soon as Backtrader builds it: a worker that crashes on every start."""

    def __init__(self) -> None:
        super().__init__()
        raise RuntimeError("this strategy always crashes")


class Slow(Strategy):
    """Takes `work` seconds over every live bar (a heavy strategy on a loaded machine): fed
    bars faster than that, its worker's loop falls behind but keeps turning."""

    params = (("work", 0.05),)

    def next(self) -> None:
        time.sleep(self.p.work)  # the strategy's work, not a wait for anything


class Stuck(Strategy):
    """Blocks for good in the first live bar after the file `hang` exists (a strategy stuck
    in a loop, a deadlock): its worker's main loop stops turning; its threads live on."""

    params = (("hang", ""),)

    def next(self) -> None:
        if self.p.hang and Path(self.p.hang).exists():
            threading.Event().wait()
