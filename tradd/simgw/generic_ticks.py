"""reqMktData's generic tick list, checked the way TWS checks it.

TWS answers a list with an id it does not know for the security type with
error 321 and a text listing the legal ones. The STK list below is the text a
real gateway sent for a stock (captured 2026); forex (CASH) lacks the dividend
and short-term-volume ticks. Of the legal ticks the simulator serves 233
(RTVolume); the others are accepted and add nothing, as TWS does when it has no
such data for the contract.
"""

from __future__ import annotations

import re

LEGAL_STK = (
    "100(Option Volume),101(Option Open Interest),105(Average Opt Volume),106(impvolat),"
    "165(Misc. Stats),221/220(Creditman Mark Price),225(Auction),232/221(Pl Price),"
    "233(RTVolume),236(inventory),258/47(Fundamentals),292(Wide_news),293(TradeCount),"
    "294(TradeRate),295(VolumeRate),318(LastRTHTrade),375(RTTrdVolume),411(rthistvol),"
    "456/59(IBDividends),460(Bond Factor Multiplier),577(EtfNavLast(navlast)),586(IPOHLMPRC),"
    "587(Pl Price Delayed),588(Futures Open Interest),595(Short-Term Volume X Mins),"
    "614(EtfNavMisc(high/low)),619(Creditman Slow Mark Price),623(EtfFrozenNavLast(fznavlast))"
)
_NOT_FOR_CASH = ("456/59(IBDividends),", "595(Short-Term Volume X Mins),")
RT_VOLUME = 233


def legal_text(sec_type: str) -> str:
    text = LEGAL_STK
    if sec_type == "CASH":
        for part in _NOT_FOR_CASH:
            text = text.replace(part, "")
    return text


def legal_ids(sec_type: str) -> frozenset[int]:
    """Every id the legal text names, aliases included (``258/47`` allows both)."""
    ids: set[int] = set()
    for tick_id, alias in re.findall(r"(?:^|,)(\d+)(?:/(\d+))?", legal_text(sec_type)):
        ids.add(int(tick_id))
        if alias:
            ids.add(int(alias))
    return frozenset(ids)


def parse_generic_ticks(text: str, sec_type: str) -> frozenset[int] | None:
    """The requested ids, or None when TWS would refuse the list (321)."""
    legal = legal_ids(sec_type)
    ids: set[int] = set()
    for item in text.split(","):
        item = item.strip()
        if not item or item.lower() == "mdoff":
            continue
        head = item.split(":", 1)[0].strip()
        if not head.isdigit() or int(head) not in legal:
            return None
        ids.add(int(head))
    return frozenset(ids)


def refusal(text: str, sec_type: str) -> str:
    return (
        f"Error validating request.-'bQ' : cause - Incorrect generic tick list of {text}.  "
        f"Legal ones for ({sec_type}) are: {legal_text(sec_type)}"
    )
