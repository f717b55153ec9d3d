"""One bar of each whatToShow series, cut from the same pieces of the tape.

The simulator's quote model is a one-tick spread around the last trade (``tape.Quote``),
so every series is derived from the trade path, consistently with the ticks and
real-time bars:

- TRADES, ADJUSTED_LAST: the trades (the replay data carries no corporate actions,
  so the adjusted series equals the traded one); volume, WAP and trade count.
- MIDPOINT: the mid of bid and ask, which is the trade price in this model.
- BID / ASK: the trade path one tick below / above.
- BID_ASK: open = time-average bid, high = highest ask, low = lowest bid,
  close = time-average ask (IB's definition).

Quote series carry no volume: IB sends -1 for volume, WAP and count, and so do we.
"""

from __future__ import annotations

from dataclasses import dataclass

Unit = tuple[int, float, float, float, float, int, int]
"""A piece of the tape: start, open, high, low, close, volume, seconds it covers."""
QUOTE_SHIFT = {"MIDPOINT": 0, "BID": -1, "ASK": 1}


@dataclass(frozen=True)
class HistBar:
    """One bar as message 17/90 carries it; ``start`` is epoch seconds."""

    start: int
    open: float
    high: float
    low: float
    close: float
    volume: int
    wap: float
    count: int


def aggregate(what: str, label: int, units: list[Unit], tick: float) -> HistBar:
    """The bar starting at ``label`` made of ``units``, as series ``what`` shows it."""
    if what in QUOTE_SHIFT:
        return as_quotes(_trades(label, units), what, tick)
    if what == "BID_ASK":
        seconds = sum(u[6] for u in units)
        mean = sum(u[4] * u[6] for u in units) / seconds
        high, low = max(u[2] for u in units), min(u[3] for u in units)
        return HistBar(
            label,
            _px(mean - tick),
            _px(high + tick),
            _px(low - tick),
            _px(mean + tick),
            -1,
            -1.0,
            -1,
        )
    return _trades(label, units)


def as_quotes(bar: HistBar, what: str, tick: float) -> HistBar:
    """A trades bar as MIDPOINT, BID or ASK shows it (unchanged for TRADES)."""
    if what not in QUOTE_SHIFT:
        return bar
    d = QUOTE_SHIFT[what] * tick
    return HistBar(bar.start, _px(bar.open + d), _px(bar.high + d), _px(bar.low + d),
                   _px(bar.close + d), -1, -1.0, -1)  # fmt: skip


def _trades(label: int, units: list[Unit]) -> HistBar:
    volume = sum(u[5] for u in units)
    closes = [u[4] for u in units]
    wap = sum(u[4] * u[5] for u in units) / volume if volume else sum(closes) / len(closes)
    return HistBar(
        label,
        units[0][1],
        max(u[2] for u in units),
        min(u[3] for u in units),
        units[-1][4],
        volume,
        round(wap, 6),
        len(units),
    )


def _px(price: float) -> float:
    return round(price, 8)
