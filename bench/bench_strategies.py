"""Strategies for the benchmarks: trivial decisions, so what is measured is the plumbing.

`EveryBar` sends one market order on every live bar, alternately buying and selling
`size` shares, so the position swings between 0 and `size` and no risk rule ever trips.
With `all_symbols` it does so on every data feed of the bar (one order per symbol), which
is the heaviest order traffic a bar can cause.

    [[strategies]]
    strategy = "bench.bench_strategies.EveryBar"
    params = { size = 1, all_symbols = true }
"""

from __future__ import annotations

from tradd.strategy import Strategy


class EveryBar(Strategy):
    """Buy `size` on one bar, sell it on the next, and so on: one order per bar (per symbol
    with `all_symbols`)."""

    params = (("size", 1), ("all_symbols", False))

    def __init__(self) -> None:
        super().__init__()
        self.buying = True
        self.bars = 0

    def next(self) -> None:
        self.bars += 1
        datas = self.datas if self.p.all_symbols else self.datas[:1]
        for data in datas:
            if self.buying:
                self.buy(data=data, size=self.p.size)
            else:
                self.sell(data=data, size=self.p.size)
        self.buying = not self.buying


class BuyWhenFlat(Strategy):
    """Buy `size` of the first data on any bar that finds the position flat: after each
    flatten and resume the strategy holds a position again (the daemon bench)."""

    params = (("size", 10),)

    def next(self) -> None:
        if not self.getposition(self.datas[0]).size:
            self.buy(data=self.datas[0], size=self.p.size)
