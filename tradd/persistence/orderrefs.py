"""Order references: how tradd recognises its own orders at IB after a restart.

Every order tradd sends carries `orderRef = "<strategy>-<seq>"`. IB echoes it on open
orders, executions and completed orders, so after a crash the worker can tell its own
orders (and which strategy placed them) from manual TWS orders. Strategy names cannot
contain a dash, so the last dash always separates the sequence number.
"""

from __future__ import annotations

import re

from tradd.config.live import STRATEGY_NAME_PATTERN

_STRATEGY = re.compile(STRATEGY_NAME_PATTERN)
_ORDER_REF = re.compile(r"^(?P<strategy>[A-Za-z][A-Za-z0-9_]{0,23})-(?P<seq>[1-9][0-9]{0,17})$")


def check_strategy(strategy: str) -> str:
    """The name unchanged, or ValueError if it is not a valid strategy name."""
    if not isinstance(strategy, str) or not _STRATEGY.match(strategy):
        raise ValueError(
            f"strategy name {strategy!r}: must be a letter then up to 23 letters, digits or _"
        )
    return strategy


def make_order_ref(strategy: str, seq: int) -> str:
    """`"<strategy>-<seq>"`; ValueError for a bad strategy name or a seq below 1."""
    check_strategy(strategy)
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
        raise ValueError(f"order sequence number {seq!r}: must be an integer >= 1")
    return f"{strategy}-{seq}"


def parse_order_ref(ref: str | None) -> tuple[str, int] | None:
    """(strategy, seq) for a tradd order ref; None for anything else (manual orders, "")."""
    if not ref:
        return None
    match = _ORDER_REF.match(ref)
    if match is None:
        return None
    return match["strategy"], int(match["seq"])
