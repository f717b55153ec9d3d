"""The simulated account: cash, positions with average cost, P&L and margin.

Average cost includes commissions, as IB reports it. Margin follows a simple
Reg T model (25% of gross position value, buying power four times the excess),
enough for what-if answers and for rejecting orders an account cannot carry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tradd.simgw.commissions import ib_commission

__all__ = ["AccountState", "Position", "Valuation", "ib_commission"]

MARGIN_RATE = 0.25
LEVERAGE = 4.0


@dataclass
class Position:
    quantity: float = 0.0
    avg_cost: float = 0.0


@dataclass
class AccountState:
    """Everything about the account that must survive a restart."""

    account: str
    cash: float
    positions: dict[int, Position] = field(default_factory=dict)
    realized_pnl: float = 0.0
    commissions: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "cash": self.cash,
            "positions": {str(k): [p.quantity, p.avg_cost] for k, p in self.positions.items()},
            "realized_pnl": self.realized_pnl,
            "commissions": self.commissions,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AccountState:
        positions = {int(k): Position(q, c) for k, (q, c) in data["positions"].items()}
        return cls(
            data["account"], data["cash"], positions, data["realized_pnl"], data["commissions"]
        )

    def apply_fill(
        self, con_id: int, signed_qty: float, price: float, commission: float,
        multiplier: float = 1.0,
    ) -> float:  # fmt: skip
        """Book a fill; returns the P&L it realized (net of its commission when closing).

        ``multiplier`` is the contract's (a future's point value): cash and P&L move by
        quantity x price x multiplier; the average cost stays in price units.
        """
        pos = self.positions.setdefault(con_id, Position())
        self.cash -= signed_qty * price * multiplier + commission
        self.commissions += commission
        realized = 0.0
        same_side = pos.quantity == 0 or (pos.quantity > 0) == (signed_qty > 0)
        if same_side:
            cost = pos.quantity * pos.avg_cost + signed_qty * price + commission / multiplier
            pos.quantity += signed_qty
            pos.avg_cost = cost / pos.quantity if pos.quantity else 0.0
        else:
            closing = min(abs(signed_qty), abs(pos.quantity))
            direction = 1.0 if pos.quantity > 0 else -1.0
            realized = (price - pos.avg_cost) * closing * direction * multiplier - commission
            pos.quantity += signed_qty
            if abs(signed_qty) > closing:  # flipped through zero: the rest opens anew
                pos.avg_cost = price
            elif pos.quantity == 0:
                pos.avg_cost = 0.0
        self.realized_pnl += realized
        if pos.quantity == 0:
            del self.positions[con_id]
        return realized

    def valuation(
        self, marks: dict[int, float], multipliers: dict[int, float] | None = None
    ) -> Valuation:
        """Marked to market; ``multipliers`` by conId for contracts whose point is not 1."""
        gross = unrealized = market = 0.0
        for con_id, pos in self.positions.items():
            mark = marks.get(con_id, pos.avg_cost)
            units = pos.quantity * (multipliers or {}).get(con_id, 1.0)
            market += units * mark
            gross += abs(units * mark)
            unrealized += units * (mark - pos.avg_cost)
        return Valuation(self.cash, market, gross, unrealized, self.realized_pnl)


@dataclass(frozen=True)
class Valuation:
    """The account marked to market: the numbers behind account values and summaries."""

    cash: float
    market_value: float
    gross_position_value: float
    unrealized_pnl: float
    realized_pnl: float

    @property
    def net_liquidation(self) -> float:
        return self.cash + self.market_value

    @property
    def init_margin(self) -> float:
        return self.gross_position_value * MARGIN_RATE

    @property
    def available_funds(self) -> float:
        return self.net_liquidation - self.init_margin

    @property
    def buying_power(self) -> float:
        return max(self.available_funds, 0.0) * LEVERAGE

    def values(self) -> dict[str, float]:
        """Account values by IB tag name."""
        return {
            "NetLiquidation": self.net_liquidation,
            "TotalCashValue": self.cash,
            "CashBalance": self.cash,
            "SettledCash": self.cash,
            "AccruedCash": 0.0,
            "BuyingPower": self.buying_power,
            "EquityWithLoanValue": self.net_liquidation,
            "GrossPositionValue": self.gross_position_value,
            "StockMarketValue": self.market_value,
            "UnrealizedPnL": self.unrealized_pnl,
            "RealizedPnL": self.realized_pnl,
            "InitMarginReq": self.init_margin,
            "MaintMarginReq": self.init_margin,
            "FullInitMarginReq": self.init_margin,
            "FullMaintMarginReq": self.init_margin,
            "AvailableFunds": self.available_funds,
            "FullAvailableFunds": self.available_funds,
            "ExcessLiquidity": self.available_funds,
            "FullExcessLiquidity": self.available_funds,
            "Cushion": self.available_funds / self.net_liquidation if self.net_liquidation else 0.0,
            "Leverage-S": self.gross_position_value / self.net_liquidation
            if self.net_liquidation
            else 0.0,
        }
