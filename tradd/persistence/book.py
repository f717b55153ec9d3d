"""A position book: fills replayed into per-symbol positions, with no SQL.

The worker must know its positions and P&L after a restart without trusting anything
but its own fills, and must agree with what Backtrader's broker would have computed for
the same fills (the strategy code runs on Backtrader in the backtests). So `Book`
follows `backtrader.Position.update` exactly: average cost, realized P&L on the closed
part of a fill, a position crossing zero closes at the old average and opens the rest at
the fill price. Commissions are kept apart, so `realized_pnl` is gross like Backtrader's.
P&L is in money: a price difference times the quantity times the contract's multiplier
(10 for a FESX future, 1 for stocks and forex), as Backtrader's `profitandloss` counts it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from tradd.persistence.records import FillRecord, check_finite

FLAT_TOLERANCE = 1e-9
"""A position whose |quantity| is below this is flat (float noise from partial fills)."""


@dataclass(frozen=True)
class PositionState:
    """One symbol's position and its P&L since the book started."""

    symbol: str
    quantity: float
    """Signed: positive long, negative short, 0.0 flat."""
    avg_price: float
    """Average cost of the open quantity; 0.0 when flat."""
    realized_pnl: float
    """Gross, before commissions."""
    commission: float
    """Total commissions of this symbol's fills."""

    @property
    def is_flat(self) -> bool:
        return self.quantity == 0.0


@dataclass
class _Position:
    """The mutable accumulator behind one PositionState (private to a Book)."""

    quantity: float = 0.0
    avg_price: float = 0.0
    realized_pnl: float = 0.0
    commission: float = 0.0


class Book:
    """Per-symbol positions built from fills in the order they are applied."""

    def __init__(
        self, fills: Iterable[FillRecord] = (), multipliers: Mapping[str, float] | None = None
    ) -> None:
        self._positions: dict[str, _Position] = {}
        self._multipliers = dict(multipliers or {})
        for fill in fills:
            self.apply(fill)

    def multiplier(self, symbol: str) -> float:
        """The contract multiplier of `symbol` (1 unless its definition says otherwise)."""
        return self._multipliers.get(symbol, 1.0)

    def apply(self, fill: FillRecord) -> float:
        """Add one fill (and its commission, if known); returns its realized P&L (gross)."""
        position = self._positions.setdefault(fill.symbol, _Position())
        if fill.commission is not None:
            position.commission += fill.commission
        realized = _update(position, fill.signed_quantity, fill.price)
        realized *= self.multiplier(fill.symbol)
        position.realized_pnl += realized
        return realized

    def value(self, symbol: str, price: float) -> float:
        """The market value of the symbol's position at `price` (signed, with multiplier)."""
        return self.position(symbol).quantity * price * self.multiplier(symbol)

    def add_commission(self, symbol: str, amount: float) -> None:
        """Book a commission that arrived after its fill (IB sends it separately)."""
        check_finite(f"commission for {symbol}", amount)
        self._positions.setdefault(symbol, _Position()).commission += amount

    def position(self, symbol: str) -> PositionState:
        """The symbol's state; flat with zero P&L for a symbol never traded."""
        position = self._positions.get(symbol, _Position())
        return PositionState(
            symbol, position.quantity, position.avg_price, position.realized_pnl,
            position.commission,
        )  # fmt: skip

    def positions(self) -> dict[str, PositionState]:
        """The open positions only (flat symbols are left out), by symbol."""
        return {
            symbol: self.position(symbol)
            for symbol in sorted(self._positions)
            if self._positions[symbol].quantity != 0.0
        }

    def unrealized(self, prices: Mapping[str, float]) -> float:
        """Open P&L at `prices`; ValueError names an open symbol without a price."""
        total = 0.0
        for symbol, state in self.positions().items():
            if symbol not in prices:
                raise ValueError(f"no price for open position {symbol} ({state.quantity:g})")
            total += state.quantity * (prices[symbol] - state.avg_price) * self.multiplier(symbol)
        return total

    def unrealized_known(self, prices: Mapping[str, float]) -> float | None:
        """Open P&L at `prices`, or None while an open position has no price yet."""
        if any(symbol not in prices for symbol in self.positions()):
            return None
        return self.unrealized(prices)

    @property
    def realized_pnl(self) -> float:
        return sum(position.realized_pnl for position in self._positions.values())

    @property
    def commission(self) -> float:
        return sum(position.commission for position in self._positions.values())


def _update(position: _Position, size: float, price: float) -> float:
    """Backtrader's `Position.update` for one signed fill; returns the realized P&L."""
    old = position.quantity
    new = old + size
    if abs(new) < FLAT_TOLERANCE:  # closed completely
        realized = old * (price - position.avg_price)
        position.quantity, position.avg_price = 0.0, 0.0
        return realized
    realized = 0.0
    if old == 0.0:  # opened from flat
        position.avg_price = price
    elif (old > 0) == (size > 0):  # added to the position: re-average
        position.avg_price = (position.avg_price * old + price * size) / new
    elif (old > 0) == (new > 0):  # reduced: the average stays
        realized = -size * (price - position.avg_price)
    else:  # reversed through zero: close all at the old average, open the rest here
        realized = old * (price - position.avg_price)
        position.avg_price = price
    position.quantity = new
    return realized
