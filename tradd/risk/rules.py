"""Each risk rule as a small pure function: measure, compare with the limit, say why.

The gate (`tradd.risk.gate`) decides what to do with a hit; here each rule only answers
"is this limit exceeded, by how much, in words a trader reads at a glance". Rules that
can shrink an order also say the largest quantity that would fit, so REDUCE_SIZE is a
computation, not a search.

Conventions: percentages are 0-100; a value exactly at its limit passes (a hair of float
tolerance keeps 25.000000000004% from breaching a 25% limit); positions are valued at the
order's price, the freshest price the caller has for that symbol, times the contract
multiplier (a future's value is quantity x price x multiplier).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

from tradd.config.risk import DailyLossSettings, RuleSettings
from tradd.risk.model import OrderRequest, Portfolio, Rule, RuleHit

_TOLERANCE = 1e-9


def exceeds(value: float, limit: float) -> bool:
    return value > limit + _TOLERANCE * max(1.0, abs(limit))


def whole_shares(quantity: float) -> float:
    """Round down to whole shares (with tolerance: 49.9999999 shares is 50)."""
    return float(math.floor(quantity + _TOLERANCE)) if quantity > 0 else 0.0


def known(value: float | None) -> bool:
    """A baseline the equity rules can use: present, finite and positive."""
    return value is not None and math.isfinite(value) and value > 0


def is_reducing(request: OrderRequest, position: float) -> bool:
    """The order moves the position toward zero without crossing it (closing exactly is
    reducing). Crossing through zero counts as increasing: the rules see the result."""
    opposite = position * request.signed_quantity < 0
    return opposite and request.quantity <= abs(position) * (1 + _TOLERANCE)


@dataclass(frozen=True)
class OrderView:
    """One order as the rules see it, at `quantity` (the request's, or a resized one)."""

    request: OrderRequest
    portfolio: Portfolio
    quantity: float

    def at(self, quantity: float) -> OrderView:
        return replace(self, quantity=quantity)

    @property
    def direction(self) -> float:
        return 1.0 if self.request.side == "BUY" else -1.0

    @property
    def before(self) -> float:
        return self.portfolio.position(self.request.symbol)

    @property
    def after(self) -> float:
        return self.before + self.direction * self.quantity

    @property
    def other_gross(self) -> float:
        """Account gross exposure without this strategy's position in the symbol (valued at
        the last price the account used, falling back to the order's price)."""
        price = self.portfolio.prices.get(self.request.symbol, self.request.price)
        if not (math.isfinite(price) and price > 0):
            price = self.request.price
        value = abs(self.before) * price * self.request.multiplier
        return max(self.portfolio.gross_exposure - value, 0.0)


def position_cap(max_abs_after: float, view: OrderView) -> float:
    """Largest order quantity leaving |position| <= `max_abs_after` (the reducing part of a
    crossing order always fits: exits are never what a limit takes away)."""
    headroom = max(max_abs_after, 0.0)
    if view.direction * view.before < 0:
        return abs(view.before) + headroom
    return max(headroom - abs(view.before), 0.0)


def position_size_pct(view: OrderView) -> float:
    return abs(view.after) * view.request.unit_value / view.portfolio.net_liquidation * 100.0


def position_size_cap(limit: float, view: OrderView) -> float:
    shares = limit / 100.0 * view.portfolio.net_liquidation / view.request.unit_value
    return position_cap(shares, view)


def position_size_message(view: OrderView, value: float, limit: float) -> str:
    return (
        f"{view.request.symbol} position would be {value:.1f}% of net liquidation "
        f"(limit {limit:g}%)"
    )


def leverage(view: OrderView) -> float:
    gross = view.other_gross + abs(view.after) * view.request.unit_value
    return gross / view.portfolio.net_liquidation


def leverage_cap(limit: float, view: OrderView) -> float:
    budget = limit * view.portfolio.net_liquidation - view.other_gross
    return position_cap(budget / view.request.unit_value, view)


def leverage_message(view: OrderView, value: float, limit: float) -> str:
    return f"account leverage would be {value:.2f}x net liquidation (limit {limit:g}x)"


def order_value(view: OrderView) -> float:
    return view.quantity * view.request.unit_value


def order_value_cap(limit: float, view: OrderView) -> float:
    return limit / view.request.unit_value


def order_value_message(view: OrderView, value: float, limit: float) -> str:
    return f"{view.request.symbol} order value {value:,.2f} exceeds limit {limit:,.2f}"


@dataclass(frozen=True)
class SizeRule:
    """A rule measured on one order at a given quantity, hence able to resize it."""

    rule: Rule
    measure: Callable[[OrderView], float]
    cap: Callable[[float, OrderView], float]
    message: Callable[[OrderView, float, float], str]

    def hit(self, settings: RuleSettings, view: OrderView) -> RuleHit | None:
        if settings.limit is None:
            return None
        value = self.measure(view)
        if not exceeds(value, settings.limit):
            return None
        text = self.message(view, value, settings.limit)
        return RuleHit(self.rule, settings.action, value, settings.limit, text)


SIZE_RULES: tuple[SizeRule, ...] = (
    SizeRule(Rule.MAX_POSITION_SIZE, position_size_pct, position_size_cap, position_size_message),
    SizeRule(Rule.MAX_LEVERAGE, leverage, leverage_cap, leverage_message),
    SizeRule(Rule.MAX_ORDER_VALUE, order_value, order_value_cap, order_value_message),
)


def position_limit_hit(settings: RuleSettings, view: OrderView) -> RuleHit | None:
    """Symbols with a non-zero position after the order (the order's own symbol included)."""
    if settings.limit is None:
        return None
    symbol = view.request.symbol
    others = sum(1 for s, q in view.portfolio.positions.items() if q and s != symbol)
    count = others + (1 if abs(view.after) > _TOLERANCE else 0)
    if not exceeds(count, settings.limit):
        return None
    text = f"{symbol} would make {count} open positions (limit {settings.limit:g})"
    return RuleHit(Rule.POSITION_LIMIT, settings.action, count, settings.limit, text)


def order_rate_hit(settings: RuleSettings, orders_in_window: int) -> RuleHit | None:
    """`orders_in_window` includes the order being checked."""
    if settings.limit is None or not exceeds(orders_in_window, settings.limit):
        return None
    text = (
        f"{orders_in_window} orders in the last 60 s including this one "
        f"(limit {settings.limit:g} a minute)"
    )
    return RuleHit(
        Rule.MAX_ORDERS_PER_MINUTE, settings.action, orders_in_window, settings.limit, text
    )


def daily_loss_hit(settings: DailyLossSettings, portfolio: Portfolio) -> RuleHit | None:
    """Loss since the day's starting equity, against the absolute and/or percentage limit
    (the absolute one is reported when both are exceeded)."""
    start = portfolio.day_start_equity
    if start is None or not known(start) or not portfolio.equity_known:
        return None
    loss = start - portfolio.net_liquidation
    pct = loss / start * 100.0
    text = f"daily loss {loss:,.2f} is {pct:.2f}% of day-start equity {start:,.2f}"
    if settings.limit is not None and exceeds(loss, settings.limit):
        limit_text = f"{text} (limit {settings.limit:,.2f})"
        return RuleHit(Rule.MAX_DAILY_LOSS, settings.action, loss, settings.limit, limit_text)
    if settings.limit_pct is not None and exceeds(pct, settings.limit_pct):
        limit_text = f"{text} (limit {settings.limit_pct:g}%)"
        return RuleHit(Rule.MAX_DAILY_LOSS, settings.action, pct, settings.limit_pct, limit_text)
    return None


def drawdown_hit(settings: RuleSettings, portfolio: Portfolio) -> RuleHit | None:
    peak = portfolio.equity_peak
    if settings.limit is None or peak is None or not known(peak) or not portfolio.equity_known:
        return None
    drawdown = (peak - portfolio.net_liquidation) / peak * 100.0
    if not exceeds(drawdown, settings.limit):
        return None
    text = (
        f"equity {portfolio.net_liquidation:,.2f} is {drawdown:.1f}% below its peak "
        f"{peak:,.2f} (limit {settings.limit:g}%)"
    )
    return RuleHit(Rule.MAX_DRAWDOWN, settings.action, drawdown, settings.limit, text)
