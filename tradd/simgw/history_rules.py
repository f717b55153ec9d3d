"""What TWS and HMDS accept in a historical request, and how they refuse the rest.

TWS validates a request before it reaches the data farm, in this order, with 321
"Error validating request.-'bK' : cause - ..." (texts as TWS words them): the duration,
ADJUSTED_LAST with an end date, the bar size (the refusal lists the legal sizes),
ADJUSTED_LAST with bars longer than a day, whatToShow, formatDate, SCHEDULE with bars
other than a day. An unreadable end date is 10314. The data farm then refuses data it
does not have with 162 "Historical Market Data Service error message:...": TRADES on
forex (IDEALPRO quotes, it has no trades), too long a duration for the bar size
(IB's step-size rule), series this simulator has no data for.
"""

from __future__ import annotations

import re

DAY = 86_400
WEEK = 7 * DAY
MONTH = 30 * DAY
YEAR = 365 * DAY

BAR_SIZES = {
    "1 secs": 1, "5 secs": 5, "10 secs": 10, "15 secs": 15, "30 secs": 30,
    "1 min": 60, "2 mins": 120, "3 mins": 180, "5 mins": 300, "10 mins": 600,
    "15 mins": 900, "20 mins": 1200, "30 mins": 1800,
    "1 hour": 3600, "2 hours": 7200, "3 hours": 10800, "4 hours": 14400, "8 hours": 28800,
    "1 day": DAY, "1 week": WEEK, "1 month": MONTH,
}  # fmt: skip
ALIASES = {"1w": WEEK, "1 w": WEEK, "1m": MONTH, "1 m": MONTH}
LEGAL_SIZES = (
    "1 secs, 5 secs, 10 secs, 15 secs, 30 secs, 1 min, 2 mins, 3 mins, 5 mins, 10 mins, "
    "15 mins, 20 mins, 30 mins, 1 hour, 2 hours, 3 hours, 4 hours, 8 hours, 1 day, 1W, 1M"
)
UNIT_SECONDS = {"S": 1, "D": DAY, "W": WEEK, "M": MONTH, "Y": YEAR}
LONGEST: tuple[tuple[int, int], ...] = (
    (1, 1800), (5, 3600), (15, 14400), (30, 28800),
    (120, WEEK), (1200, MONTH), (28800, YEAR),
)  # fmt: skip
"""(largest bar size, longest duration in seconds): IB's step-size table for second bars;
for minute and hour bars the longest durations IB serves in practice (one week of 1-minute
bars, as tradd's downloader pages). Daily and longer bars have no limit."""

WHAT_TO_SHOW = frozenset({
    "TRADES", "MIDPOINT", "BID", "ASK", "BID_ASK", "ADJUSTED_LAST", "HISTORICAL_VOLATILITY",
    "OPTION_IMPLIED_VOLATILITY", "INDICATIVE_AUCTION_PRICE_SIZE", "NAV_LAST", "YIELD_ASK",
    "YIELD_BID", "YIELD_BID_ASK", "YIELD_MARK", "YIELD_LAST", "FEE_RATE", "SCHEDULE", "AGGTRADES",
})  # fmt: skip
"""Every whatToShow TWS accepts; the simulator serves TRADES, ADJUSTED_LAST and the quotes."""
QUOTES = frozenset({"MIDPOINT", "BID", "ASK", "BID_ASK"})
HMDS = "Historical Market Data Service error message:"
VALIDATING = "Error validating request.-'bK' : cause - "
INVALID_END = (
    "End Date/Time: The date, time, or time-zone entered is invalid.\n"
    "The correct format is yyyymmdd hh:mm:ss xx/xxxx\n"
    "where yyyymmdd and xx/xxxx are optional.\n"
    "E.g.: 20031126 15:59:00 US/Eastern\n\n"
    "Note that there is a space between the date and time,\n"
    "and between the time and time-zone.\n\n"
    "If no date is specified, current date is assumed.\n"
    "If no time-zone is specified, local time-zone is assumed(deprecated).\n\n"
    "You can also provide yyyymmddd-hh:mm:ss time is in UTC.\n"
    "Note that there is a dash between the date and time in UTC notation."
)
_DURATION = re.compile(r"^(\d+) ([SDWMYsdwmy])$")
_LIMITS = {"S": (86_400, "Historical data request for greater than 86400 seconds rejected."),
           "D": (365, "Historical data requests for durations longer than 365 days must be "
                      "made in years."),
           "W": (52, "Historical data request for durations longer than 52 weeks must be made "
                     "in years."),
           "M": (12, "Historical data request for durations longer than 12 months must be made "
                     "in years.")}  # fmt: skip
_HMDS_NAMES = {
    "TRADES": "Last", "ADJUSTED_LAST": "Last", "MIDPOINT": "MidPoint", "BID": "Bid",
    "ASK": "Ask", "HISTORICAL_VOLATILITY": "HistVol",
    "OPTION_IMPLIED_VOLATILITY": "OptionImpliedVol",
}  # fmt: skip


class HistoryRequestError(ValueError):
    """A request TWS would refuse; carries the TWS error code to answer with."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def refuse(cause: str) -> HistoryRequestError:
    """TWS's own refusal (321) of a request it will not send to the data farm."""
    return HistoryRequestError(321, VALIDATING + cause)


def bar_seconds(bar_size: str) -> int:
    text = " ".join(bar_size.split()).lower()
    size = BAR_SIZES.get(text) or ALIASES.get(text)
    if size is None:
        raise refuse(f"Historical data bar size setting is invalid. Legal ones are: {LEGAL_SIZES}")
    return size


def split_duration(text: str) -> tuple[int, str]:
    """``N S|D|W|M|Y`` (a bare number is seconds) as (N, unit), syntax only."""
    text = " ".join(text.split())
    text = f"{text} S" if text.isdigit() else text
    if not text:
        raise refuse("Historical data request duration not specified.")
    match = _DURATION.match(text)
    if not match:
        raise refuse("When specifying a unit, historical data request duration format is "
                     "integer{SPACE}unit (S|D|W|M|Y).")  # fmt: skip
    return int(match.group(1)), match.group(2).upper()


def parse_duration(text: str) -> tuple[int, str]:
    """A duration within TWS's limits per unit."""
    count, unit = split_duration(text)
    if count < 1 or (unit == "S" and count < 30):
        raise refuse("Historical data requested duration is invalid.")
    limit = _LIMITS.get(unit)
    if limit is not None and count > limit[0]:
        raise refuse(limit[1])
    return count, unit


def check_request(what: str, size_text: str, duration: str, end_text: str, fmt: int) -> int:
    """TWS's checks before a bar request goes out, in TWS's order; the bar size in seconds."""
    parse_duration(duration)
    adjusted = what == "ADJUSTED_LAST"
    if adjusted and end_text.strip():
        raise refuse("End date not supported with adjusted last")
    size = bar_seconds(size_text)
    if adjusted and size > DAY:
        raise refuse("Multi day bar size not supported with adjusted last")
    if what not in WHAT_TO_SHOW:
        raise refuse(f"What to show value of {what} rejected.")
    if fmt not in (0, 1, 2, 3):
        raise refuse(f"Date formatting selection of {fmt} rejected.")
    if what == "SCHEDULE" and size != DAY:
        raise refuse("Only daily resolution supported for Schedule requests")
    return size


def check_step(size: int, duration: str) -> None:
    """Refuse a duration longer than the bar size allows (162, as HMDS answers)."""
    count, unit = parse_duration(duration)
    span = count * UNIT_SECONDS[unit]
    for largest, longest in LONGEST:
        if size <= largest:
            if span > longest:
                detail = f"invalid step: {size}" if size < 60 else "Time length exceed max."
                raise HistoryRequestError(162, HMDS + detail)
            return


def check_served(what: str, sec_type: str, symbol: str, size: int) -> None:
    """Refuse data the farm does not have: trades on forex, series not simulated."""
    served = what in QUOTES or (what in ("TRADES", "ADJUSTED_LAST") and sec_type != "CASH")
    if not served:
        raise HistoryRequestError(162, no_data(what, sec_type, symbol, size))


def no_data(what: str, sec_type: str, symbol: str, size: int) -> str:
    """HMDS's refusal, e.g. 'No historical market data for EUR/CASH@FXSUBPIP Last 300'."""
    venue = "FXSUBPIP" if sec_type == "CASH" else "SMART"
    step = f"{size // DAY}d" if size >= DAY else str(size)
    name = _HMDS_NAMES.get(what, what.title().replace("_", ""))
    return f"{HMDS}No historical market data for {symbol}/{sec_type}@{venue} {name} {step}"
