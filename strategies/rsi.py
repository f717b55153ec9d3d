"""RSI mean reversion, long only, on every symbol given."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import backtrader as bt

from tradd.strategy import Kernel, Strategy


class RsiReversion(Strategy):
    """Buy when RSI drops below `oversold`; sell when it rises above `overbought`.

    Params:
        period (int): RSI lookback in bars.
        oversold (float): entry level (0-100).
        overbought (float): exit level (0-100); must exceed `oversold`.
    """

    params = (("period", 14), ("oversold", 30.0), ("overbought", 70.0))

    @classmethod
    def invalid_params(cls, params: Mapping[str, Any]) -> str | None:
        if not 0 < params["oversold"] < params["overbought"] < 100:
            return "need 0 < oversold < overbought < 100"
        if params["period"] < 2:
            return "period must be at least 2"
        return None

    @classmethod
    def kernel(cls) -> Kernel:
        from strategies.kernels import RsiReversionKernel

        return RsiReversionKernel()

    def __init__(self) -> None:
        super().__init__()
        self.rsis = [
            (data, bt.ind.RSI(data, period=self.p.period, safediv=True)) for data in self.datas
        ]

    def next(self) -> None:
        for data, rsi in self.rsis:
            if not self.getposition(data).size:
                if rsi[0] < self.p.oversold:
                    self.buy(data=data)
            elif rsi[0] > self.p.overbought:
                self.close(data=data)
