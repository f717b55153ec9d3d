"""Donchian channel breakout (the Turtle entry/exit rule), long only, on every symbol given."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import backtrader as bt

from tradd.strategy import Kernel, Strategy


class DonchianBreakout(Strategy):
    """Buy when the close breaks above the highest high of the previous `entry` bars; sell
    when it breaks below the lowest low of the previous `exit` bars.

    Params:
        entry (int): channel length for entries.
        exit (int): channel length for exits; shorter than `entry`.
    """

    params = (("entry", 20), ("exit", 10))

    @classmethod
    def invalid_params(cls, params: Mapping[str, Any]) -> str | None:
        if not 1 <= params["exit"] < params["entry"]:
            return "need 1 <= exit < entry"
        return None

    @classmethod
    def kernel(cls) -> Kernel:
        from strategies.kernels import DonchianBreakoutKernel

        return DonchianBreakoutKernel()

    def __init__(self) -> None:
        super().__init__()
        # [-1]: the channel of the bars *before* today, so today's bar can break it.
        self.channels = [
            (
                data,
                bt.ind.Highest(data.high(-1), period=self.p.entry),
                bt.ind.Lowest(data.low(-1), period=self.p.exit),
            )
            for data in self.datas
        ]

    def next(self) -> None:
        for data, upper, lower in self.channels:
            close = data.close[0]
            if not self.getposition(data).size:
                if close > upper[0]:
                    self.buy(data=data)
            elif close < lower[0]:
                self.close(data=data)
