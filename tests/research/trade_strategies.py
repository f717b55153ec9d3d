"""Strategies for the trade-list tests."""

from __future__ import annotations

from tradd.strategy import Strategy

SCHEDULE = {2: 2, 5: 1, 8: -1, 11: -5, 14: -1, 17: 4}
"""Bar in a 24-bar cycle -> units bought (negative: sold), times `unit`: a long entry,
a scale-in, a partial exit, a reversal to short (one order closing the long and opening
the short), a short scale-in and the cover."""


class Flipper(Strategy):
    """Trades every symbol on a fixed schedule (`SCHEDULE`), long and short, so each kind
    of fill a trade can be made of occurs."""

    params = (("unit", 10),)

    def next(self) -> None:
        units = SCHEDULE.get(len(self) % 24)
        if units is None:
            return
        for data in self.datas:
            if units > 0:
                self.buy(data=data, size=units * self.p.unit)
            else:
                self.sell(data=data, size=-units * self.p.unit)
