"""Bounded Backtrader lines for a live strategy.

Backtrader keeps every value of every line (each feed's OHLCV, every indicator and
operation between lines) for the whole run: a backtest ends, a live run does not, so a
worker grew with every bar it ever saw. Its memory-saving mode (`exactbars`) keeps only
what the indicators need, which breaks a strategy that looks further back itself (an
`IndexError`, or worse). Here the old values are cut instead: every line keeps at least
`keep` of its newest values (the caller passes the larger of a floor and twice the
strategy's warm-up, the history the strategy says it needs), and never less than its
indicator needs. Lengths (`len(data)`, bar counts) are untouched: only the buffer is.
"""

from __future__ import annotations

from typing import Any

from backtrader.linebuffer import LineBuffer

KEEP_LINES = 2000
"""Values every live line keeps at least (strategies looking further back than twice their
warm-up need a larger `warmup_bars`)."""


def trim_lines(strategy: Any, keep: int) -> int:
    """Cut every line of `strategy` (its datas, indicators and their sub-indicators and
    operations) to its newest values once it holds twice what it must keep; returns how
    many values were dropped. Runs between bars, on the worker's main thread."""
    dropped, seen = 0, set()
    stack = [strategy, *strategy.datas]
    while stack:
        owner = stack.pop()
        if id(owner) in seen:
            continue
        seen.add(id(owner))
        for line in owner.lines:
            dropped += _trim(line, keep)
        for group in getattr(owner, "_lineiterators", {}).values():
            stack.extend(group)
    return dropped


def _trim(line: Any, keep: int) -> int:
    if not isinstance(line, LineBuffer) or line.mode != LineBuffer.UnBounded:
        return 0  # a bounded (queue) buffer, or not a buffer at all
    keep = max(keep, 2 * int(line._minperiod))
    held = int(line.idx) + 1  # values up to the current bar (an extension lies beyond)
    if held <= 2 * keep:
        return 0  # cut in big steps: each cut copies what stays
    drop = held - keep
    del line.array[:drop]
    line.idx = line.idx - drop
    return drop
