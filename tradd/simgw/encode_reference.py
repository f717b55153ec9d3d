"""Server messages for reference-data requests, at server version 176.

Kept apart from ``encode.py`` (orders, account, market data). Field orders follow
the decoders of ib_async 2.1 and ib_insync 0.9.86 (``decoder.py``: symbolSamples,
marketRule, scannerData, histogramData, ...); the conformance test decodes each
one with both libraries.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from tradd.simgw.contracts import Instrument
from tradd.simgw.wire import FieldValue

Fields = list[FieldValue]


def symbol_samples(req_id: int, found: Sequence[Instrument]) -> Fields:
    """79: conId, symbol, secType, primaryExchange, currency, derivative types, then
    description and issuerId (present from server version 176)."""
    out: Fields = [79, req_id, len(found)]
    for inst in found:
        listing = inst.primary_exchange or inst.exchange
        out += [inst.con_id, inst.symbol, inst.sec_type, listing, inst.currency, 0,
                inst.long_name, ""]  # fmt: skip
    return out


def market_rule(rule_id: int, increments: Iterable[tuple[float, float]]) -> Fields:
    pairs = list(increments)
    out: Fields = [93, rule_id, len(pairs)]
    for low_edge, increment in pairs:
        out += [low_edge, increment]
    return out


def user_info(req_id: int, white_branding_id: str) -> Fields:
    return [107, req_id, white_branding_id]


def sec_def_opt_params_end(req_id: int) -> Fields:
    return [76, req_id]


def smart_components(req_id: int, components: Sequence[tuple[int, str, str]]) -> Fields:
    out: Fields = [82, req_id, len(components)]
    for bit, exchange, letter in components:
        out += [bit, exchange, letter]
    return out


def mkt_depth_exchanges(rows: Sequence[tuple[str, str, str, str, int]]) -> Fields:
    """80: exchange, secType, listingExch, serviceDataType, aggGroup per row."""
    out: Fields = [80, len(rows)]
    for row in rows:
        out += list(row)
    return out


def histogram_data(req_id: int, rows: Sequence[tuple[float, int]]) -> Fields:
    out: Fields = [89, req_id, len(rows)]
    for price, size in rows:
        out += [price, size]
    return out


def scanner_parameters(xml: str) -> Fields:
    return [19, 1, xml]


def scanner_data(req_id: int, ranked: Sequence[Instrument]) -> Fields:
    """20 (version 3): rank, contract, marketName, tradingClass, distance, benchmark,
    projection, legs; the decoder ends the reply (scannerDataEnd) after the rows."""
    out: Fields = [20, 3, req_id, len(ranked)]
    for rank, inst in enumerate(ranked):
        out += [rank, inst.con_id, inst.symbol, inst.sec_type, "", 0.0, "", inst.exchange,
                inst.currency, inst.local_symbol, inst.trading_class, inst.trading_class,
                "", "", "", ""]  # fmt: skip
    return out


def news_providers(providers: Sequence[tuple[str, str]]) -> Fields:
    out: Fields = [85, len(providers)]
    for code, name in providers:
        out += [code, name]
    return out


def historical_news_end(req_id: int, has_more: bool) -> Fields:
    return [87, req_id, has_more]


def soft_dollar_tiers(req_id: int) -> Fields:
    return [77, req_id, 0]


def family_codes(codes: Sequence[tuple[str, str]]) -> Fields:
    out: Fields = [78, len(codes)]
    for account, code in codes:
        out += [account, code]
    return out


def position_multi(req_id: int, account: str, inst: Instrument, qty: float,
                   avg_cost: float) -> Fields:  # fmt: skip
    """71: the position block carries exchange but no primaryExchange."""
    return [71, 1, req_id, account, *inst.block(), qty, avg_cost, ""]


def position_multi_end(req_id: int) -> Fields:
    return [72, 1, req_id]


def display_group_list(req_id: int, groups: str) -> Fields:
    return [67, 1, req_id, groups]
