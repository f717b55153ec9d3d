"""A strategy that trades often on 1-minute bars, for the drift tests.

`Flip` buys `size` shares when a bar closes above the one before and it is flat, and
closes the position when a bar closes below: on the simulator's minute bars it trades
every few bars, with fixed sizes (the account's value, shared by everything the
simulator holds, does not enter its decisions).
"""

from __future__ import annotations

from tradd.strategy import Strategy


class Flip(Strategy):
    params = (("size", 10),)

    def next(self) -> None:
        data = self.datas[0]
        if len(data) < 2:
            return
        up = data.close[0] > data.close[-1]
        if not self.position and up:
            self.buy(size=self.p.size)
        elif self.position and not up:
            self.close()
