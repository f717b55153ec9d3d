"""What a tradd strategy is: a Backtrader Strategy that can declare invalid parameter sets.

Strategies stay plain Backtrader (they run unchanged in `cerebro.optstrategy`); the one
addition is `invalid_params`, which lets research skip combinations such as fast >= slow
without running them. Entries use `self.buy()` with no size: tradd's sizer decides.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import backtrader as bt


class Strategy(bt.Strategy):  # type: ignore[misc]
    """Base class. Subclasses call `super().__init__()` first in their `__init__`."""

    @classmethod
    def invalid_params(cls, params: Mapping[str, Any]) -> str | None:
        """Why this combination makes no sense, or None when it is fine."""
        return None

    def __init__(self) -> None:
        reason = type(self).invalid_params(dict(self.p._getkwargs()))
        if reason:
            # Backtrader's own way to drop a combination from optstrategy.
            raise bt.errors.StrategySkipError(reason)
