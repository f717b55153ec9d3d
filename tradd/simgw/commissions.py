"""Commissions per asset class, as IBKR Pro fixed pricing charges them.

A rehearsal that budgets costs must see the right order of magnitude for each
market: a 20,000 EUR forex trade costs the USD 2 minimum, not a stock's
$100 (0.005 x 20,000 shares). Exchange, regulatory and clearing fees, which
IB passes through on top, are not simulated.

- US stocks: USD 0.005 per share, USD 1.00 minimum, 1% of trade value maximum.
- Forex (IDEALPRO): 0.20 basis points of the trade value, USD 2.00 minimum per
  order; IB reports the commission in USD.
- Futures: a fixed amount per contract in the contract's currency (IB's fixed
  rate for the exchange's country, e.g. EUR 1.00 at Eurex).
"""

from __future__ import annotations

from dataclasses import dataclass

from tradd import commission_rates as rates
from tradd.simgw.contracts import Instrument

# The rates live in tradd.commission_rates, which research reads too.
STOCK_PER_SHARE = rates.STOCK_PER_SHARE
STOCK_MIN = rates.STOCK_MIN
STOCK_MAX_PCT = rates.STOCK_MAX_PCT / 100.0
FOREX_RATE = rates.FOREX_BPS / 10_000.0
FOREX_MIN_USD = rates.FOREX_MIN_USD
FUTURES_PER_CONTRACT = rates.FUTURES_PER_CONTRACT
FUTURES_DEFAULT = rates.FUTURES_DEFAULT


@dataclass(frozen=True)
class Commission:
    amount: float
    currency: str


def ib_commission(shares: float, price: float) -> float:
    """US stocks: $0.005/share, $1 minimum, 1% of value maximum."""
    fee = max(abs(shares) * STOCK_PER_SHARE, STOCK_MIN)
    return round(min(fee, abs(shares * price) * STOCK_MAX_PCT), 4)


def commission_for(inst: Instrument, quantity: float, price: float) -> Commission:
    """What IB charges for one order of ``quantity`` at an average of ``price``.

    The figure is cumulative for the order (a partially filled order has paid the
    minimum once), so each fill is charged the difference to the previous total.
    """
    if inst.sec_type == "CASH":
        return Commission(forex_commission(inst, quantity, price), "USD")
    if inst.sec_type == "FUT":
        rate = FUTURES_PER_CONTRACT.get(inst.currency, FUTURES_DEFAULT)
        return Commission(round(abs(quantity) * rate, 4), inst.currency)
    return Commission(ib_commission(quantity, price), inst.currency)


def forex_commission(inst: Instrument, quantity: float, price: float) -> float:
    """0.2 bp of the value in USD, at least USD 2 (the quote currency is taken at par
    with USD when neither side is USD: the simulator has no cross rates)."""
    value_usd = abs(quantity) if inst.symbol == "USD" else abs(quantity * price)
    return round(max(value_usd * FOREX_RATE, FOREX_MIN_USD), 4)
