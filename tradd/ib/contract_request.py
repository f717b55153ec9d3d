"""What the client asks IB for when it qualifies a symbol from its contract definition.

Plain values only (the client builds the library's Contract from them), so what tradd
sends IB for each security type is readable, and testable, without the library.
"""

from __future__ import annotations

from typing import Any

from tradd.marketdata.contracts import ContractSpec


def request_fields(spec: ContractSpec) -> dict[str, str]:
    """The Contract fields IB matches a definition on. A future is found by its local
    symbol (or symbol, expiry and multiplier) on its exchange; the multiplier is sent only
    for futures, where it is part of the contract's identity ('' elsewhere, as IB has it)."""
    fields = {
        "secType": spec.sec_type,
        "symbol": spec.ib_symbol or spec.symbol,
        "exchange": spec.exchange,
        "currency": spec.currency,
        "primaryExchange": spec.primary_exchange,
        "localSymbol": spec.local_symbol,
        "tradingClass": spec.trading_class,
    }
    if spec.sec_type == "FUT":
        fields["lastTradeDateOrContractMonth"] = spec.last_trade_date
        fields["multiplier"] = f"{spec.multiplier:g}"
    return fields


def ib_multiplier(text: Any) -> float:
    """IB's multiplier string ('10'; '' for stocks and forex) as a number, 1 when absent."""
    try:
        value = float(text or 1.0)
    except (TypeError, ValueError):
        return 1.0
    return value if value > 0 else 1.0
