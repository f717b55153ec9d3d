"""IB's fixed-rate US stock commission as a Backtrader commission scheme."""

from __future__ import annotations

import backtrader as bt


class IBCommission(bt.CommInfoBase):  # type: ignore[misc]
    """IB fixed-rate stock pricing: per share, at least `minimum`, at most `max_pct` of value."""

    params = (
        ("per_share", 0.005),
        ("minimum", 1.0),
        ("max_pct", 1.0),
        ("stocklike", True),
        ("commtype", bt.CommInfoBase.COMM_FIXED),
    )

    def _getcommission(self, size: float, price: float, pseudoexec: bool) -> float:
        shares = abs(size)
        fee = max(shares * self.p.per_share, self.p.minimum)
        cap = shares * price * self.p.max_pct / 100.0
        return float(min(fee, cap)) if cap > 0 else float(fee)
