"""The position sizer of every tradd strategy, live and in research."""

from __future__ import annotations

from typing import Any

import backtrader as bt


class PortfolioPercentSizer(bt.Sizer):  # type: ignore[misc]
    """Whole shares worth `percents` of portfolio value, split evenly across the symbols.

    A unit is worth price x the contract multiplier of the symbol's commission info (a
    future's 10; 1 for stocks). Exits (selling a long, buying back a short) are sized by
    `close()`, not here.
    """

    params = (("percents", 95.0),)

    def _getsizing(self, comminfo: Any, cash: float, data: Any, isbuy: bool) -> int:
        price = data.close[0]
        if price <= 0:
            return 0
        # One share of the budget per symbol (a live strategy's tick feeds share their symbol).
        symbols = len({getattr(d, "symbol", id(d)) for d in self.strategy.datas})
        budget = self.broker.getvalue() * self.p.percents / 100.0 / symbols
        unit = price * (getattr(comminfo.p, "mult", 1.0) or 1.0)
        return int(min(budget, cash) / unit)
