"""Moving-average crossover with a no-trade band, long only, on every symbol given."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import backtrader as bt

from tradd.strategy import Kernel, Strategy


class SmaCross(Strategy):
    """Buy when the fast SMA rises above the slow SMA by more than `threshold`; sell when it
    falls below by more than `threshold`.

    The band keeps the strategy from flipping on every wiggle around the cross.

    Params:
        fast (int): bars in the fast simple moving average.
        slow (int): bars in the slow simple moving average; must exceed `fast`.
        threshold (float): band as a fraction of the slow average (0.01 = 1%).
    """

    params = (("fast", 10), ("slow", 30), ("threshold", 0.0))

    @classmethod
    def invalid_params(cls, params: Mapping[str, Any]) -> str | None:
        if params["fast"] >= params["slow"]:
            return "fast must be shorter than slow"
        if params["threshold"] < 0:
            return "threshold must not be negative"
        return None

    @classmethod
    def kernel(cls) -> Kernel:
        from strategies.kernels import SmaCrossKernel

        return SmaCrossKernel()

    def __init__(self) -> None:
        super().__init__()
        self.averages = [
            (data, bt.ind.SMA(data, period=self.p.fast), bt.ind.SMA(data, period=self.p.slow))
            for data in self.datas
        ]

    def next(self) -> None:
        band = self.p.threshold
        for data, fast_ma, slow_ma in self.averages:
            fast, slow = fast_ma[0], slow_ma[0]
            if not self.getposition(data).size:
                if fast > slow * (1.0 + band):
                    self.buy(data=data)
            elif fast < slow * (1.0 - band):
                self.close(data=data)
