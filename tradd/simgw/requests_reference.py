"""Reference-data requests answered from what the simulator knows.

Symbol search, market rules, user info, option-chain parameters (none: simgw
lists no options), SMART components, depth venues, price histograms from the
tape, market scanners, news (no providers, no articles), soft-dollar tiers,
family codes, positions by model, display groups. Each reply is the message TWS
sends for the request, so a client's own request/response bookkeeping completes
exactly as it does against IB.
"""

from __future__ import annotations

import re

import numpy as np

from tradd.simgw import encode, encode_reference, scanner
from tradd.simgw.contracts import Instrument
from tradd.simgw.core import Core
from tradd.simgw.lookup import NO_SECURITY
from tradd.simgw.market_rules import RULES
from tradd.simgw.orders import contract_query, to_float, to_int
from tradd.simgw.routing import Route, Routes, ignore
from tradd.simgw.session import ClientSession
from tradd.simgw.tape import BUCKET, FloatArray, Tape

SMART_COMPONENTS = {"9c0001": ((1, "NYSE", "N"), (2, "ARCA", "P"), (3, "NASDAQ", "Q"),
                               (4, "IEX", "V"))}  # fmt: skip
DEPTH_EXCHANGES = (
    ("NASDAQ", "STK", "NASDAQ", "Deep2", 1),
    ("NYSE", "STK", "NYSE", "Deep", 1),
    ("ARCA", "STK", "ARCA", "Deep", 1),
    ("IEX", "STK", "IEX", "Deep", 1),
    ("IDEALPRO", "CASH", "", "Deep", 4),
)
PERIOD = re.compile(r"^\s*(\d+)\s*(days?|weeks?|months?|d|w|m)\s*$", re.IGNORECASE)
TRADING_DAYS = {"d": 1, "w": 5, "m": 21}


class ReferenceRequests:
    def __init__(self, core: Core) -> None:
        self.core = core

    def routes(self) -> Routes:
        return {
            81: Route("reqMatchingSymbols", 3, self.matching_symbols),
            91: Route("reqMarketRule", 2, self.market_rule),
            104: Route("reqUserInfo", 2, self.user_info),
            78: Route("reqSecDefOptParams", 6, self.sec_def_opt_params),
            83: Route("reqSmartComponents", 3, self.smart_components),
            82: Route("reqMktDepthExchanges", 1, self.mkt_depth_exchanges),
            88: Route("reqHistogramData", 17, self.histogram),
            89: Route("cancelHistogramData", 2, ignore),
            24: Route("reqScannerParameters", 2, self.scanner_parameters),
            22: Route("reqScannerSubscription", 6, self.scanner_subscription),
            23: Route("cancelScannerSubscription", 3, ignore),
            85: Route("reqNewsProviders", 1, self.news_providers),
            86: Route("reqHistoricalNews", 7, self.historical_news),
            12: Route("reqNewsBulletins", 3, ignore),
            13: Route("cancelNewsBulletins", 2, ignore),
            79: Route("reqSoftDollarTiers", 2, self.soft_dollar_tiers),
            80: Route("reqFamilyCodes", 1, self.family_codes),
            74: Route("reqPositionsMulti", 5, self.positions_multi),
            75: Route("cancelPositionsMulti", 3, ignore),
            67: Route("queryDisplayGroups", 3, self.display_groups),
            68: Route("subscribeToGroupEvents", 4, ignore),
            69: Route("updateDisplayGroup", 4, ignore),
            70: Route("unsubscribeFromGroupEvents", 3, ignore),
            14: Route("setServerLogLevel", 3, ignore),
        }

    # ---- contracts -----------------------------------------------------------------------

    def matching_symbols(self, session: ClientSession, fields: list[str]) -> None:
        """81: symbols starting with the pattern, then names containing it (as IB ranks)."""
        req_id = to_int(fields[1], "reqId")
        pattern = fields[2].strip().upper()
        found: list[Instrument] = []
        if pattern:
            insts = sorted(self.core.instruments.values(), key=lambda i: (i.symbol, i.currency))
            by_symbol = [i for i in insts if i.symbol.startswith(pattern)]
            by_name = [i for i in insts if pattern in i.long_name.upper() and i not in by_symbol]
            found = by_symbol + by_name
        session.send(encode_reference.symbol_samples(req_id, found))

    def market_rule(self, session: ClientSession, fields: list[str]) -> None:
        """91: the rule's increments; an id IB does not have gets no reply (as from TWS)."""
        rule_id = to_int(fields[1], "marketRuleId")
        increments = RULES.get(rule_id)
        if increments is None:
            self.core.log_event("simgw.unknown_market_rule", rule_id=rule_id)
            return
        session.send(encode_reference.market_rule(rule_id, increments))

    def user_info(self, session: ClientSession, fields: list[str]) -> None:
        """104: an IBKR-branded login has an empty white-branding id."""
        session.send(encode_reference.user_info(to_int(fields[1], "reqId"), ""))

    def sec_def_opt_params(self, session: ClientSession, fields: list[str]) -> None:
        """78: no option chains are listed on anything here, so only the end marker."""
        session.send(encode_reference.sec_def_opt_params_end(to_int(fields[1], "reqId")))

    def smart_components(self, session: ClientSession, fields: list[str]) -> None:
        """83: the venues behind a BBO exchange code (the one tickReqParams names)."""
        req_id = to_int(fields[1], "reqId")
        components = SMART_COMPONENTS.get(fields[2], ())
        session.send(encode_reference.smart_components(req_id, components))

    def mkt_depth_exchanges(self, session: ClientSession, fields: list[str]) -> None:
        session.send(encode_reference.mkt_depth_exchanges(DEPTH_EXCHANGES))

    # ---- data from the tape --------------------------------------------------------------

    def histogram(self, session: ClientSession, fields: list[str]) -> None:
        """88: volume traded at each price over the last trading days of ``period``."""
        req_id = to_int(fields[1], "reqId")
        matches = self.core.book.find(contract_query(fields, 2))
        if len(matches) != 1:
            session.send(encode.error(req_id, 200, NO_SECURITY))
            return
        days = _period_days(fields[16])
        if days is None:
            session.send(encode.error(req_id, 162, "Historical Market Data Service error "
                                      f"message:Invalid period: {fields[16]!r}"))  # fmt: skip
            return
        tape = self.core.tapes[matches[0].con_id]
        session.send(encode_reference.histogram_data(req_id, _histogram(tape, self.core.now(),
                                                                        days)))  # fmt: skip

    def scanner_parameters(self, session: ClientSession, fields: list[str]) -> None:
        session.send(encode_reference.scanner_parameters(scanner.parameters_xml()))

    def scanner_subscription(self, session: ClientSession, fields: list[str]) -> None:
        """22: one ranked snapshot of the simulator's stocks; unknown scan codes get 162."""
        req_id = to_int(fields[1], "reqId")
        padded = fields + [""] * (9 - len(fields))
        volume = to_float(padded[8], "aboveVolume")
        scan = scanner.ScanRequest(
            rows=to_int(padded[2], "numberOfRows"),
            instrument=padded[3].upper(),
            location=padded[4].upper(),
            code=padded[5].upper(),
            above_price=to_float(padded[6], "abovePrice"),
            below_price=to_float(padded[7], "belowPrice"),
            above_volume=None if volume is None or volume >= 2**31 - 1 else int(volume),
        )
        problem = scanner.refusal(scan)
        if problem is not None:
            session.send(encode.error(req_id, 162, problem))
            return
        now = self.core.now()
        stats = [
            s
            for con_id, tape in sorted(self.core.tapes.items())
            if (s := scanner.day_stats(tape, now, self.core.mark(con_id))) is not None
        ]
        session.send(encode_reference.scanner_data(req_id, scanner.rank(scan, stats)))

    # ---- news, advisors, account ---------------------------------------------------------

    def news_providers(self, session: ClientSession, fields: list[str]) -> None:
        """85: the simulated account subscribes to no news provider."""
        session.send(encode_reference.news_providers(()))

    def historical_news(self, session: ClientSession, fields: list[str]) -> None:
        """86: no headlines in any window; the end marker says there are no more."""
        session.send(encode_reference.historical_news_end(to_int(fields[1], "reqId"), False))

    def soft_dollar_tiers(self, session: ClientSession, fields: list[str]) -> None:
        session.send(encode_reference.soft_dollar_tiers(to_int(fields[1], "reqId")))

    def family_codes(self, session: ClientSession, fields: list[str]) -> None:
        """80: an account outside any family answers '*' with an empty code (as IB does)."""
        session.send(encode_reference.family_codes((("*", ""),)))

    def positions_multi(self, session: ClientSession, fields: list[str]) -> None:
        """74: the account's positions (there are no models), then the end marker."""
        req_id = to_int(fields[2], "reqId")
        account = fields[3]
        if account in ("", self.core.account) and not fields[4]:
            for con_id, pos in self.core.state.account.positions.items():
                inst = self.core.instruments[con_id]
                session.send(encode_reference.position_multi(
                    req_id, self.core.account, inst, pos.quantity, pos.avg_cost))  # fmt: skip
        session.send(encode_reference.position_multi_end(req_id))

    def display_groups(self, session: ClientSession, fields: list[str]) -> None:
        """67: IB Gateway has no window groups to link to, so the list is empty."""
        session.send(encode_reference.display_group_list(to_int(fields[2], "reqId"), ""))


def _period_days(text: str) -> int | None:
    match = PERIOD.match(text)
    if match is None or int(match.group(1)) <= 0:
        return None
    return int(match.group(1)) * TRADING_DAYS[match.group(2)[0].lower()]


def _histogram(tape: Tape, now: int, days: int) -> list[tuple[float, int]]:
    """Volume by price (at the contract's tick) over the last ``days`` sessions up to now.

    The latest session, and daily source bars, are expanded into the tape's 5-second
    buckets (the bar in progress up to now); earlier intraday source bars count at their
    close, since expanding weeks of minute bars would stall every client for seconds.
    """
    last = int(np.searchsorted(tape.starts, now, side="right")) - 1
    if last < 0:
        return []
    wanted = np.unique(tape.days[: last + 1])[-days:]
    first = int(np.searchsorted(tape.days, wanted[0], side="left"))
    done = last + 1 if now >= int(tape.ends[last]) else last
    closes: list[FloatArray] = []
    volumes: list[FloatArray] = []
    if tape.bars.intraday:
        session = max(first, int(np.searchsorted(tape.days, tape.days[last], side="left")))
        closes.append(tape.bars.close[first:session])
        volumes.append(tape.bars.volume[first:session])
        first = session
    for i in range(first, last + 1):
        b = tape.buckets(i)
        upto = len(b) if i < done else (now - b.start) // BUCKET
        closes.append(b.close[:upto])
        volumes.append(b.volume[:upto].astype(np.float64))
    tick = tape.instrument.min_tick
    ticks = np.rint(np.concatenate(closes) / tick).astype(np.int64)
    levels, where = np.unique(ticks, return_inverse=True)
    totals = np.bincount(where, weights=np.concatenate(volumes), minlength=len(levels))
    return [(round(float(level) * tick, 10), round(float(total)))
            for level, total in zip(levels, totals, strict=True) if total > 0]  # fmt: skip
