"""Strategies for scan tests."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from strategies.kernels import SmaCrossKernel
from strategies.sma_cross import SmaCross
from tradd.strategy import BoolArray, Kernel, Prices, Strategy


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


class LateKernel(SmaCrossKernel):
    """Wrong on purpose: decides one bar after `SmaCross.next()` does."""

    def signals(self, prices: Prices, params: Mapping[str, Any]) -> tuple[BoolArray, BoolArray]:
        enter, exit_ = super().signals(prices, params)
        enter[:, 1:], exit_[:, 1:] = enter[:, :-1].copy(), exit_[:, :-1].copy()
        return enter, exit_


class LateSmaCross(SmaCross):
    """`SmaCross` with an unfaithful kernel: a two-stage scan must catch it and fall back."""

    @classmethod
    def kernel(cls) -> Kernel:
        return LateKernel()
