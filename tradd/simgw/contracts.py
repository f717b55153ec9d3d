"""Instruments the simulator knows: one per symbol in the replay data.

conIds are derived from a hash of the instrument's identity so they are the
same in every run and on every machine; clients may cache them, as they do
with a real gateway.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

CURRENCIES = frozenset({"USD", "EUR", "GBP", "JPY", "CHF", "AUD", "CAD", "NZD", "HKD", "SEK"})
STOCK_EXCHANGES = frozenset({"", "SMART", "NASDAQ", "NYSE", "ARCA", "ISLAND", "IEX"})
FOREX_EXCHANGES = frozenset({"", "IDEALPRO"})


@dataclass(frozen=True)
class Instrument:
    """A tradable contract as the simulator describes it to clients."""

    con_id: int
    symbol: str
    sec_type: str
    exchange: str
    primary_exchange: str
    currency: str
    local_symbol: str
    trading_class: str
    min_tick: float
    time_zone: str
    long_name: str
    data_symbol: str

    @property
    def is_forex(self) -> bool:
        return self.sec_type == "CASH"

    def block(self, *, primary: bool = False, exchange: bool = True) -> list[str | int | float]:
        """conId..tradingClass as most server messages carry it (strike and expiry blank)."""
        fields: list[str | int | float] = [self.con_id, self.symbol, self.sec_type, "", 0.0, "", ""]
        if exchange:
            fields.append(self.exchange)
        if primary:
            fields.append(self.primary_exchange)
        fields += [self.currency, self.local_symbol, self.trading_class]
        return fields


def stable_con_id(sec_type: str, symbol: str, currency: str) -> int:
    """A positive conId in IB's usual range, fixed by the instrument's identity."""
    return 100_000 + zlib.crc32(f"{sec_type}:{symbol}:{currency}".encode()) % 900_000_000


def instrument_for(data_symbol: str) -> Instrument:
    """Describe a data-file symbol: six-letter currency pairs are forex, the rest US stocks."""
    base, quote = data_symbol[:3], data_symbol[3:]
    if len(data_symbol) == 6 and base in CURRENCIES and quote in CURRENCIES:
        return Instrument(
            con_id=stable_con_id("CASH", base, quote),
            symbol=base,
            sec_type="CASH",
            exchange="IDEALPRO",
            primary_exchange="",
            currency=quote,
            local_symbol=f"{base}.{quote}",
            trading_class=f"{base}.{quote}",
            min_tick=0.00005,
            time_zone="US/Eastern",
            long_name=f"European Dollar {base}/{quote}",
            data_symbol=data_symbol,
        )
    return Instrument(
        con_id=stable_con_id("STK", data_symbol, "USD"),
        symbol=data_symbol,
        sec_type="STK",
        exchange="SMART",
        primary_exchange="NASDAQ",
        currency="USD",
        local_symbol=data_symbol,
        trading_class="NMS",
        min_tick=0.01,
        time_zone="US/Eastern",
        long_name=f"{data_symbol} (simulated)",
        data_symbol=data_symbol,
    )


@dataclass(frozen=True)
class ContractQuery:
    """The identifying part of a client's 12-field contract block."""

    con_id: int
    symbol: str
    sec_type: str
    exchange: str
    primary_exchange: str
    currency: str
    local_symbol: str


class ContractBook:
    """Look instruments up the way TWS does: by conId, or by symbol and attributes."""

    def __init__(self, instruments: list[Instrument]) -> None:
        self._by_id = {i.con_id: i for i in instruments}

    def by_con_id(self, con_id: int) -> Instrument | None:
        return self._by_id.get(con_id)

    def find(self, query: ContractQuery) -> list[Instrument]:
        """Every instrument matching the query; empty means TWS error 200."""
        if query.con_id:
            found = self._by_id.get(query.con_id)
            return [found] if found is not None and _attributes_match(found, query) else []
        return [i for i in self._by_id.values() if _describes(i, query)]


def _attributes_match(inst: Instrument, q: ContractQuery) -> bool:
    return (
        (not q.sec_type or q.sec_type == inst.sec_type)
        and (not q.currency or q.currency == inst.currency)
        and (not q.symbol or q.symbol == inst.symbol)
    )


def _describes(inst: Instrument, q: ContractQuery) -> bool:
    if q.local_symbol and q.local_symbol != inst.local_symbol:
        return False
    if not q.local_symbol and q.symbol != inst.symbol:
        return False
    exchanges = FOREX_EXCHANGES if inst.is_forex else STOCK_EXCHANGES
    return (
        _attributes_match(inst, q)
        and q.exchange in exchanges | {inst.exchange}
        and q.primary_exchange in {"", inst.primary_exchange} | STOCK_EXCHANGES
    )
