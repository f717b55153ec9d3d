"""The risk gate's vocabulary: what is asked (an order, a portfolio), what it answers.

These types are the contract between the gate and its callers (the live worker, which
builds them from IB account data and persists each `Decision`, and the backtest broker),
so they are plain frozen dataclasses with no IB or Backtrader in them. Inputs are
checked where they are built: an order with a zero or NaN quantity is a bug in the
caller and raises at once, naming the value. Account values are different: IB sends
NaN or nothing until the account is synchronised, so `Portfolio` accepts non-finite
equity and the gate refuses exposure-increasing orders until it is known.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Literal

from tradd.config.risk import RuleAction

Side = Literal["BUY", "SELL"]
Verdict = Literal["APPROVED", "RESIZED", "BLOCKED", "SYSTEM", "BREACH"]
SIDES: tuple[Side, ...] = ("BUY", "SELL")


class TradingState(StrEnum):
    """What a strategy may do. Not a rule: `enabled = false` does not lift it."""

    ACTIVE = "ACTIVE"
    REDUCING = "REDUCING"
    """Only exposure-reducing orders (and system orders) pass."""
    HALTED = "HALTED"
    """Nothing passes except system orders (flatten, risk closes)."""


class Rule(StrEnum):
    """The rules; `rule.value.lower()` is the rule's key under `[risk]`."""

    MAX_POSITION_SIZE = "MAX_POSITION_SIZE"
    MAX_DAILY_LOSS = "MAX_DAILY_LOSS"
    MAX_DRAWDOWN = "MAX_DRAWDOWN"
    POSITION_LIMIT = "POSITION_LIMIT"
    MAX_LEVERAGE = "MAX_LEVERAGE"
    MAX_ORDER_VALUE = "MAX_ORDER_VALUE"
    MAX_ORDERS_PER_MINUTE = "MAX_ORDERS_PER_MINUTE"

    @property
    def key(self) -> str:
        return self.value.lower()


@dataclass(frozen=True)
class OrderRequest:
    """An order a strategy (or the system) wants to send.

    `price` values the order: the limit price, or the last trade for a market order.
    `system` marks flatten and risk-driven closes: they bypass rules and trading state.
    `multiplier` is the contract's (a future's 10): one unit is worth price x multiplier.
    """

    symbol: str
    side: Side
    quantity: float
    price: float
    system: bool = False
    multiplier: float = 1.0

    def __post_init__(self) -> None:
        if not self.symbol:
            raise ValueError("OrderRequest.symbol: empty")
        if self.side not in SIDES:
            raise ValueError(f"OrderRequest.side: {self.side!r} is not BUY or SELL")
        if not (math.isfinite(self.quantity) and self.quantity > 0):
            raise ValueError(f"OrderRequest.quantity: {self.quantity!r} is not a positive number")
        if not (math.isfinite(self.price) and self.price > 0):
            raise ValueError(f"OrderRequest.price: {self.price!r} is not a positive number")
        if not (math.isfinite(self.multiplier) and self.multiplier > 0):
            raise ValueError(
                f"OrderRequest.multiplier: {self.multiplier!r} is not a positive number"
            )

    @property
    def unit_value(self) -> float:
        """What one unit (share, contract) of the order is worth: price x multiplier."""
        return self.price * self.multiplier

    @property
    def signed_quantity(self) -> float:
        return self.quantity if self.side == "BUY" else -self.quantity


@dataclass(frozen=True)
class Portfolio:
    """The strategy's and the account's state when an order (or a bar) is checked.

    `positions` are this strategy's signed quantities; `gross_exposure` is the whole
    account's sum of |position value| before the order. `day_start_equity` and
    `equity_peak` are the baselines of the equity rules; None (or a non-finite value)
    means not known yet, and the rule that needs it does not fire.
    """

    now: datetime
    net_liquidation: float
    positions: Mapping[str, float]
    prices: Mapping[str, float]
    gross_exposure: float
    day_start_equity: float | None = None
    equity_peak: float | None = None

    def __post_init__(self) -> None:
        if self.now.tzinfo is None or self.now.utcoffset() is None:
            raise ValueError(f"Portfolio.now: {self.now.isoformat()} has no time zone")
        for symbol, quantity in self.positions.items():
            if not math.isfinite(quantity):
                raise ValueError(f"Portfolio.positions[{symbol!r}]: {quantity!r} is not finite")

    @property
    def equity_known(self) -> bool:
        return math.isfinite(self.net_liquidation) and self.net_liquidation > 0

    def position(self, symbol: str) -> float:
        return self.positions.get(symbol, 0.0)

    def open_symbols(self) -> tuple[str, ...]:
        """Symbols with a non-zero position, sorted (the order closes are sent in)."""
        return tuple(sorted(s for s, q in self.positions.items() if q))


@dataclass(frozen=True)
class RuleHit:
    """One rule exceeded: what was measured, the limit, and the action configured."""

    rule: Rule
    action: RuleAction
    value: float
    limit: float
    message: str


@dataclass(frozen=True)
class Decision:
    """The gate's answer about one order (`request`) or, from `check_portfolio`, about the
    strategy as a whole (`request` None, verdict BREACH).

    `approved_quantity` is 0 when refused. `close_symbols` are positions the caller must
    now close with system orders. `state` is the trading state after this decision.
    """

    requested_quantity: float
    approved_quantity: float
    hits: tuple[RuleHit, ...]
    state: TradingState
    close_symbols: tuple[str, ...] = ()
    reason: str = ""
    request: OrderRequest | None = None

    @property
    def allowed(self) -> bool:
        return self.request is not None and self.approved_quantity > 0

    @property
    def blocked(self) -> bool:
        return self.request is not None and self.approved_quantity <= 0

    @property
    def by_state(self) -> bool:
        """Refused by the trading state alone (paused, flattened, halted), no rule hit: the
        state doing its job, not a new risk breach."""
        return self.blocked and not self.hits and self.state is not TradingState.ACTIVE

    @property
    def resized(self) -> bool:
        return 0 < self.approved_quantity < self.requested_quantity

    @property
    def alerts(self) -> tuple[RuleHit, ...]:
        return tuple(hit for hit in self.hits if hit.action == "ALERT")

    @property
    def verdict(self) -> Verdict:
        """What happened, as persisted in `risk_decisions.action`."""
        if self.request is None:
            return "BREACH"
        if self.request.system:
            return "SYSTEM"
        if self.blocked:
            return "BLOCKED"
        return "RESIZED" if self.resized else "APPROVED"

    @property
    def clean(self) -> bool:
        """Approved in full with nothing to report (no hit, nothing to close)."""
        return self.verdict == "APPROVED" and not self.hits and not self.close_symbols


def describe(decision: Decision) -> str:
    """One plain-text line for logs: verdict, order, rules hit, reason and state."""
    request = decision.request
    if request is None:
        what = "portfolio"
    else:
        size = f"{decision.requested_quantity:g}"
        what = f"{request.side} {size} {request.symbol} @ {request.price:g}"
        if decision.resized:
            what += f" -> {decision.approved_quantity:g}"
    rules = ",".join(f"{hit.rule}:{hit.action}" for hit in decision.hits)
    parts = [decision.verdict, what]
    if rules:
        parts.append(f"[{rules}]")
    if decision.reason:
        parts.append(f"- {decision.reason}")
    if decision.close_symbols:
        parts.append(f"(close {', '.join(decision.close_symbols)})")
    parts.append(f"state {decision.state}")
    return " ".join(parts)
