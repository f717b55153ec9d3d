"""Instruments the simulator knows: one per symbol in the replay data.

Each is built from the data directory's contract definitions
(``tradd/marketdata/contracts.py``): the data symbol (the file name) is not an
IB symbol; the definition says what IB calls the contract, where it trades and
when. conIds are derived from a hash of the instrument's identity so they are
the same in every run and on every machine; clients may cache them, as they do
with a real gateway.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

from tradd.marketdata.contracts import ContractSpec, default_spec
from tradd.simgw.market_rules import rule_for_tick

STOCK_EXCHANGES = frozenset({"", "SMART", "NASDAQ", "NYSE", "ARCA", "ISLAND", "IEX"})
FOREX_EXCHANGES = frozenset({"", "IDEALPRO"})
# What the simulator executes, in IB's orderTypes vocabulary (IB lists far more).
ORDER_TYPES = {
    "STK": "DAY,GTC,IOC,LMT,MKT,OCA,RTH,STP,STPLMT,WHATIF",
    "FUT": "DAY,GTC,IOC,LMT,MKT,OCA,STP,STPLMT,WHATIF",
    "CASH": "DAY,GTC,IOC,LMT,MKT,OCA,STP,STPLMT,WHATIF",
}


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
    last_trade_date: str = ""
    multiplier: str = ""
    spec: ContractSpec | None = field(default=None, compare=False, repr=False)

    @property
    def is_forex(self) -> bool:
        return self.sec_type == "CASH"

    @property
    def definition(self) -> ContractSpec:
        """The contract definition behind this instrument (a default one when built bare)."""
        return self.spec or default_spec(self.data_symbol)

    @property
    def valid_exchanges(self) -> list[str]:
        if self.sec_type == "STK":
            return [e for e in dict.fromkeys([self.exchange, self.primary_exchange]) if e]
        return [self.exchange]

    @property
    def market_rule_ids(self) -> str:
        """One rule id per valid exchange, in the same order, as IB lists them."""
        rule = str(rule_for_tick(self.min_tick))
        return ",".join(rule for _ in self.valid_exchanges)

    @property
    def order_types(self) -> str:
        return ORDER_TYPES.get(self.sec_type, ORDER_TYPES["STK"])

    def block(self, *, primary: bool = False, exchange: bool = True) -> list[str | int | float]:
        """conId..tradingClass as most server messages carry it (expiry and multiplier for
        futures, blank for stocks and forex, as IB sends them)."""
        fields: list[str | int | float] = [
            self.con_id, self.symbol, self.sec_type, self.last_trade_date, 0.0, "",
            self.multiplier,
        ]  # fmt: skip
        if exchange:
            fields.append(self.exchange)
        if primary:
            fields.append(self.primary_exchange)
        fields += [self.currency, self.local_symbol, self.trading_class]
        return fields


def stable_con_id(sec_type: str, symbol: str, currency: str) -> int:
    """A positive conId in IB's usual range, fixed by the instrument's identity."""
    return 100_000 + zlib.crc32(f"{sec_type}:{symbol}:{currency}".encode()) % 900_000_000


def instrument_for(data_symbol: str, spec: ContractSpec | None = None) -> Instrument:
    """Describe a data-file symbol from its definition (or the default of its shape)."""
    spec = spec or default_spec(data_symbol)
    symbol = spec.ib_symbol or data_symbol
    is_future = spec.sec_type == "FUT"
    identity = f"{symbol}:{spec.local_symbol or spec.last_trade_date}" if is_future else symbol
    return Instrument(
        con_id=stable_con_id(spec.sec_type, identity, spec.currency),
        symbol=symbol,
        sec_type=spec.sec_type,
        exchange=spec.exchange,
        primary_exchange=spec.primary_exchange,
        currency=spec.currency,
        local_symbol=spec.local_symbol or symbol,
        trading_class=spec.trading_class or symbol,
        min_tick=spec.min_tick,
        time_zone=spec.time_zone,
        long_name=spec.long_name or _long_name(spec, symbol),
        data_symbol=data_symbol,
        last_trade_date=spec.last_trade_date if is_future else "",
        multiplier=_number(spec.multiplier) if is_future else "",
        spec=spec,
    )


def _long_name(spec: ContractSpec, symbol: str) -> str:
    if spec.is_forex:
        return f"European Dollar {symbol}/{spec.currency}"
    return f"{symbol} (simulated)"


def _number(value: float) -> str:
    """A multiplier as IB writes it: '10', '0.5'."""
    return f"{value:g}"


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
    last_trade_date: str = ""
    multiplier: str = ""
    trading_class: str = ""


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
    if not _attributes_match(inst, q):
        return False
    if inst.sec_type == "FUT":
        return _future_matches(inst, q)
    exchanges = FOREX_EXCHANGES if inst.is_forex else STOCK_EXCHANGES
    return (
        q.exchange in exchanges | {inst.exchange}
        and q.primary_exchange
        in {
            "",
            inst.primary_exchange,
        }
        | STOCK_EXCHANGES
    )


def _future_matches(inst: Instrument, q: ContractQuery) -> bool:
    """A future by localSymbol, or by symbol with expiry (YYYYMMDD or contract month
    YYYYMM), on its own exchange; multiplier and trading class narrow when given."""
    expiry = q.last_trade_date
    return (
        q.exchange in ("", inst.exchange)
        and (not expiry or inst.last_trade_date.startswith(expiry))
        and (not q.multiplier or _same_number(q.multiplier, inst.multiplier))
        and (not q.trading_class or q.trading_class == inst.trading_class)
    )


def _same_number(a: str, b: str) -> bool:
    try:
        return float(a) == float(b)
    except ValueError:
        return False
