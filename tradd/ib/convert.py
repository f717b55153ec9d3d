"""Library objects (ib_async or ib_insync, duck-typed) into tradd's plain values.

Kept apart from `tradd.ib.client` so that module stays the only one importing the client
library, and small: these functions never import it, they only read the attributes both
libraries share.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from tradd.ib.types import Bar, Commission, Execution, OrderUpdate, PortfolioLine, Quote, Side

UNSET_DOUBLE = 1.7976931348623157e308
"""IB's "no value" for doubles (e.g. realized P&L of an opening execution)."""
BAR_UNITS = {"sec": 1, "secs": 1, "min": 60, "mins": 60, "hour": 3600, "hours": 3600,
             "day": 86400, "days": 86400}  # fmt: skip


def history_bar(symbol: str, b: Any, seconds: int, tz: ZoneInfo) -> Bar:
    """A historical bar; a daily bar's date becomes the session's midnight, exchange time."""
    stamp = b.date
    if isinstance(stamp, datetime):
        start = stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
    else:
        start = datetime.combine(_as_date(stamp), time(), tz)
    return Bar(symbol, start.astimezone(UTC), seconds, float(b.open), float(b.high),
               float(b.low), float(b.close), _volume(b.volume))  # fmt: skip


def realtime_bar(symbol: str, b: Any) -> Bar:
    start = b.time if b.time.tzinfo else b.time.replace(tzinfo=UTC)
    return Bar(symbol, start.astimezone(UTC), 5, float(b.open_), float(b.high), float(b.low),
               float(b.close), _volume(b.volume))  # fmt: skip


def _volume(value: Any) -> float:
    """IB sends -1 where a series has no volume (MIDPOINT, BID, ASK: forex bars)."""
    return max(float(value), 0.0)


def order_update(trade: Any, symbol: str | None = None) -> OrderUpdate:
    """`symbol`: the data symbol of the trade's contract (IB's symbol when None)."""
    o, s = trade.order, trade.orderStatus
    last = trade.log[-1] if trade.log else None
    message = last.message if last is not None else ""
    error_code = int(getattr(last, "errorCode", 0) or 0)
    return OrderUpdate(
        o.orderId, o.permId or s.permId, o.orderRef or "", symbol or trade.contract.symbol,
        s.status,
        float(s.filled), float(s.remaining), float(s.avgFillPrice or 0.0), message, o.action,
        float(o.totalQuantity), o.orderType, _price(o.lmtPrice), _price(o.auxPrice),
        o.parentId, o.clientId, error_code,
    )  # fmt: skip


def execution(fill: Any, symbol: str | None = None) -> Execution:
    e = fill.execution
    when = fill.time if isinstance(fill.time, datetime) else e.time
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    side: Side = "BUY" if e.side in ("BOT", "BUY") else "SELL"
    return Execution(e.execId, e.orderId, e.permId, e.orderRef or "",
                     symbol or fill.contract.symbol,
                     side, float(e.shares), float(e.price), when.astimezone(UTC),
                     e.acctNumber)  # fmt: skip


def commission(report: Any) -> Commission:
    realized = report.realizedPNL
    known = realized is not None and not math.isnan(realized) and realized < UNSET_DOUBLE / 2
    return Commission(report.execId, float(report.commission), realized if known else None)


def portfolio_line(item: Any, symbol: str | None = None) -> PortfolioLine:
    return PortfolioLine(symbol or item.contract.symbol, float(item.position),
                         float(item.marketPrice), float(item.marketValue),
                         per_unit(float(item.averageCost), item.contract),
                         float(item.unrealizedPNL), float(item.realizedPNL))  # fmt: skip


def per_unit(avg_cost: float, contract: Any) -> float:
    """IB's average cost is per contract (a future's is price x multiplier); tradd keeps
    it per unit of price, as Backtrader's positions and the order prices are."""
    try:
        multiplier = float(contract.multiplier or 1.0)
    except (TypeError, ValueError):
        multiplier = 1.0
    return avg_cost / multiplier if multiplier > 0 else avg_cost


def quote(t: Any, symbol: str | None = None) -> Quote:
    when = t.time or datetime.now(UTC)
    return Quote(symbol or t.contract.symbol, when, _num(t.bid), _num(t.ask), _num(t.last),
                 _num(t.bidSize), _num(t.askSize), _num(t.lastSize))  # fmt: skip


def bar_seconds(bar_size: str) -> int:
    """IB's bar size ("5 mins", "1 day") in seconds."""
    count, unit = bar_size.split()[:2]
    return int(count) * BAR_UNITS[unit]


def _price(value: float) -> float | None:
    return None if value is None or value >= UNSET_DOUBLE / 2 else float(value)


def _num(value: Any) -> float:
    missing = value is None or (isinstance(value, float) and math.isnan(value))
    return 0.0 if missing else float(value)


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))
