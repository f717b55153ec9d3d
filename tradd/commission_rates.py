"""IB's published commission rates (IBKR Pro, fixed pricing, first tier), in one place.

The simulator (`tradd.simgw.commissions`) charges these and research (`tradd.research.costs`)
defaults to them, so a rehearsal and a backtest of the same trade cost the same. This module
imports nothing, so every layer may read it. Exchange, regulatory and clearing fees, which
IB passes through on top, are not included.
"""

from __future__ import annotations

STOCK_PER_SHARE = 0.005
"""US stocks: USD per share."""
STOCK_MIN = 1.0
"""US stocks: USD minimum per order."""
STOCK_MAX_PCT = 1.0
"""US stocks: the commission is capped at this percentage of the trade value."""

FOREX_BPS = 0.2
"""Forex (IDEALPRO): basis points of the trade value."""
FOREX_MIN_USD = 2.0
"""Forex: USD minimum per order."""

FUTURES_PER_CONTRACT = {"USD": 0.85, "EUR": 1.00, "GBP": 1.00, "CHF": 1.00, "JPY": 200.0}
"""Futures: per contract, in the contract's currency (IB's fixed rate for the exchange's
country, e.g. EUR 1.00 at Eurex)."""
FUTURES_DEFAULT = 1.00
"""Futures in a currency not listed above."""

CRYPTO_PCT = 0.18
"""Crypto (PAXOS): percent of the trade value (the top rate; IB publishes 0.12%-0.18%)."""
CRYPTO_MIN_USD = 1.75
"""Crypto: USD minimum per order..."""
CRYPTO_MIN_CAP_PCT = 1.0
"""...itself capped at this percentage of the trade value."""
