"""Strategies for scan tests."""

from __future__ import annotations

import os

from tradd.strategy import Strategy


class KillsItsProcess(Strategy):
    """Ends the process it runs in on its first bar, like a crash in native code would."""

    def next(self) -> None:
        os._exit(9)


class KillsItsProcessOnGoog(Strategy):
    """Ends the process it runs in on GOOG's first bar; on other symbols it does nothing."""

    def next(self) -> None:
        if self.data._name == "GOOG":
            os._exit(9)


class TakesAProfit(Strategy):
    """Buys on its first bar and sells at the first close above what it paid, if that comes
    within `hold` bars: one winning trade wherever the price rises soon after the entry.
    Live it never acts: a worker calls `next` only after its warm-up bars (more than
    `hold`), so never on the first bar, and a position it is given is left alone."""

    params = (("hold", 20),)

    def next(self) -> None:
        if len(self) == 1:
            self.buy()
        elif (
            self.position and len(self) <= self.p.hold and self.data.close[0] > self.position.price
        ):
            self.close()
