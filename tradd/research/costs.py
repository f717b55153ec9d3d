"""Commissions per asset class, chosen per symbol from its contract definition.

A forex backtest charged US stock commissions (per share) pays IB's minimum on every
unit traded: gross +$3,600, commissions $50,597. Each symbol now gets the scheme of its
`sec_type` (docs/research-costs.md):

- STK: per share, at least `minimum`, at most `max_pct` of the trade value.
- CASH: `bps` basis points of the trade value, at least the USD `minimum` per order.
- FUT: `per_contract` (default: IB's rate for the contract's currency) x contracts, at
  least `minimum`.
- CRYPTO: `pct` percent of the trade value, at least the USD `minimum`, the minimum itself
  capped at 1% of the trade value (IB's schedule).

Research keeps one account currency: a symbol's P&L is in its quote currency and so is
its commission. A USD minimum is converted when USD is the base (USD.JPY: 2 USD = 2 x
price JPY); in other crosses the quote currency is taken at par with USD, as the
simulator does.

Futures (and anything else with a multiplier) count `spec.multiplier` in P&L, value,
cash and sizing. Backtrader's `stocklike=True` applies `mult` to P&L only (a position is
valued and paid for at price x size), and `stocklike=False` values a position at a fixed
margin per contract (its `automargin` counts the move twice while the position is open).
`SchemeCommission` therefore stays stock-like (the notional is paid in cash, unlevered,
as the sizer budgets it) and multiplies value and cost by `mult`, so P&L = price move x
size x multiplier and the portfolio value is cash + marked notional on every bar.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import backtrader as bt

from tradd import commission_rates as rates
from tradd.marketdata.contracts import ContractDefinitions, ContractSpec

Kind = Literal["stock", "forex", "futures", "crypto"]
KIND_OF_SEC_TYPE: dict[str, Kind] = {"CASH": "forex", "FUT": "futures", "CRYPTO": "crypto"}
"""Anything else (STK, IND, CFD) is charged as a stock."""


@dataclass(frozen=True)
class CommissionRates:
    """The rates of every asset class, as `[backtest.commission]` sets them."""

    per_share: float = rates.STOCK_PER_SHARE
    minimum: float = rates.STOCK_MIN
    max_pct: float = rates.STOCK_MAX_PCT
    forex_bps: float = rates.FOREX_BPS
    forex_minimum: float = rates.FOREX_MIN_USD
    futures_per_contract: float | None = None
    """None: IB's rate for the contract's currency."""
    futures_minimum: float = 0.0
    crypto_pct: float = rates.CRYPTO_PCT
    crypto_minimum: float = rates.CRYPTO_MIN_USD


@dataclass(frozen=True)
class CostScheme:
    """One symbol's commission: `rate` per unit (share, contract) or fraction of value."""

    kind: Kind
    currency: str
    multiplier: float = 1.0
    rate: float = 0.0
    """stock: per share; futures: per contract; forex, crypto: fraction of trade value."""
    minimum: float = 0.0
    """Per order, in `currency`."""
    max_pct: float | None = None
    """stock: cap on the commission, percent of the trade value."""
    min_cap_pct: float | None = None
    """crypto: cap on the minimum, percent of the trade value."""
    minimum_in_base: bool = False
    """forex with USD as the base (USD.JPY): the USD minimum is converted at the price."""

    def commission(self, size: float, price: float) -> float:
        """The commission of one order of `size` units at `price`."""
        units = abs(size)
        value = units * price * self.multiplier
        if self.kind in ("stock", "futures"):
            fee = max(units * self.rate, self.minimum)
            cap = value * self.max_pct / 100.0 if self.max_pct is not None else 0.0
            return float(min(fee, cap) if cap > 0 else fee)
        minimum = self.minimum * price if self.minimum_in_base else self.minimum
        if self.min_cap_pct is not None:
            minimum = min(minimum, value * self.min_cap_pct / 100.0)
        return float(max(value * self.rate, minimum))

    def record(self) -> dict[str, Any]:
        """The scheme and its rates in the units the docs and config use."""
        out: dict[str, Any] = {"scheme": self.kind, "currency": self.currency}
        if self.kind == "stock":
            out |= {"per_share": self.rate, "minimum": self.minimum, "max_pct": self.max_pct}
        elif self.kind == "futures":
            out |= {"per_contract": self.rate, "minimum": self.minimum}
        elif self.kind == "forex":
            out |= {"bps": self.rate * 10_000.0, "minimum": self.minimum, "minimum_currency": "USD"}
        else:
            out |= {"pct": self.rate * 100.0, "minimum": self.minimum,
                    "minimum_cap_pct": self.min_cap_pct}  # fmt: skip
        out["multiplier"] = self.multiplier
        return out


def scheme_for(spec: ContractSpec, commission: CommissionRates) -> CostScheme:
    """The scheme of one contract definition under the configured rates."""
    kind = KIND_OF_SEC_TYPE.get(spec.sec_type, "stock")
    c, mult = commission, spec.multiplier
    if kind == "forex":
        usd_base = (spec.ib_symbol or spec.symbol[:3]) == "USD"
        return CostScheme(kind, spec.currency, mult, c.forex_bps / 10_000.0, c.forex_minimum,
                          minimum_in_base=usd_base)  # fmt: skip
    if kind == "futures":
        per = c.futures_per_contract
        if per is None:
            per = rates.FUTURES_PER_CONTRACT.get(spec.currency, rates.FUTURES_DEFAULT)
        return CostScheme(kind, spec.currency, mult, per, c.futures_minimum)
    if kind == "crypto":
        return CostScheme(kind, spec.currency, mult, c.crypto_pct / 100.0, c.crypto_minimum,
                          min_cap_pct=rates.CRYPTO_MIN_CAP_PCT)  # fmt: skip
    return CostScheme(kind, spec.currency, mult, c.per_share, c.minimum, c.max_pct)


def costs_for(
    symbols: Iterable[str], commission: CommissionRates, definitions: ContractDefinitions
) -> dict[str, CostScheme]:
    """Each symbol's scheme from its definition (a symbol not defined gets the default of
    its shape: EURUSD forex, BTCUSD crypto, anything else a US stock)."""
    return {s: scheme_for(definitions.spec(s), commission) for s in symbols}


def default_costs(symbols: Iterable[str], commission: CommissionRates) -> dict[str, CostScheme]:
    """Without contract definitions: each symbol's default definition."""
    return costs_for(symbols, commission, ContractDefinitions({}))


def commission_record(costs: Mapping[str, CostScheme]) -> dict[str, dict[str, Any]]:
    """Per symbol, the scheme and its rates: the `commissions` of a run's settings record."""
    return {symbol: scheme.record() for symbol, scheme in costs.items()}


class SchemeCommission(bt.CommInfoBase):  # type: ignore[misc]
    """A `CostScheme` in Backtrader: its commission, and the multiplier in value and cost.

    Stock-like (cash pays the notional; see the module doc), with `mult` applied to value,
    cost and size as well as to P&L."""

    params = (
        ("scheme", None),
        ("stocklike", True),
        ("commtype", bt.CommInfoBase.COMM_FIXED),
    )

    def _getcommission(self, size: float, price: float, pseudoexec: bool) -> float:
        scheme: CostScheme = self.p.scheme
        return scheme.commission(size, price)

    def getsize(self, price: float, cash: float) -> int:
        return int(self.p.leverage * (cash // (price * self.p.mult)))

    def getoperationcost(self, size: float, price: float) -> float:
        return float(abs(size) * price * self.p.mult)

    def getvaluesize(self, size: float, price: float) -> float:
        return float(size * price * self.p.mult)

    def getvalue(self, position: Any, price: float) -> float:
        size = position.size
        if size >= 0:
            return float(size * price * self.p.mult)
        return float((2 * position.price - price) * size * self.p.mult)


def comminfo_for(scheme: CostScheme) -> SchemeCommission:
    return SchemeCommission(scheme=scheme, mult=scheme.multiplier)
