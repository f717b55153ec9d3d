"""A strategy for the rehearsal (`python -m tradd.rehearsal`): it trades on every bar.

Flat: buy; holding: close. So every bar of every session sends an order (unless the last
one is still working), which is what a rehearsal needs to see orders and fills flowing
across kills, faults, nights and reloads. Not a trading idea.
"""

from __future__ import annotations

from typing import Any

from tradd.strategy import Strategy


class EveryBar(Strategy):
    """Buy when flat, close when holding, on each new bar of each symbol."""

    def __init__(self) -> None:
        super().__init__()
        self.working: dict[str, Any] = {}  # symbol -> its last order, while it is alive

    def next(self) -> None:
        for data in self.datas:
            last = self.working.get(data._name)
            if last is not None and last.alive():
                continue
            if self.getposition(data).size:
                self.working[data._name] = self.close(data=data)
            else:
                self.working[data._name] = self.buy(data=data)
