"""The daily P&L summary: when it is due, and its numbers, from the persisted fills.

Per strategy, its attribution of today (`tradd.persistence.attribution`, defined there
and in docs/metrics-alerts.md): fills (trades), realized P&L (gross, against the
strategy's own average cost), the change of its unrealized P&L, commissions and its net.
For the account: portfolio value (the last net liquidation recorded), P&L today, the part
of it no strategy explains (manual trades, fees, interest) and the deepest intraday
drawdown of the recorded equity; then a drift line per strategy that has a `tradd drift`
result (its latest). "Today" is the calendar day in the summary's time zone; the summary
goes out once per trading day (Monday to Friday) at `[alerts.summary] time`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from tradd.alerts.model import AlertEvent
from tradd.config.alerts import SummarySettings
from tradd.persistence.attribution import attribute, table_lines
from tradd.persistence.drift_results import DriftResult, DriftResults, as_dict
from tradd.persistence.ledger import Ledger
from tradd.records.events import EventKind


class SummarySchedule:
    """Due once per trading day at the configured local time (after a restart too: the
    caller tells it which day was already sent)."""

    def __init__(self, settings: SummarySettings, last_sent: date | None = None) -> None:
        self.settings, self.zone = settings, ZoneInfo(settings.timezone)
        self.last_sent = last_sent

    def due(self, now: datetime) -> date | None:
        local = now.astimezone(self.zone)
        if not self.settings.enabled or local.weekday() >= 5 or local.time() < self.settings.time:
            return None
        return None if self.last_sent == local.date() else local.date()


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(day, datetime.min.time(), zone)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


def account_day(
    ledgers: Iterable[Ledger], start: datetime, end: datetime
) -> dict[str, float | None]:
    """Portfolio value, P&L today and max intraday drawdown from the equity snapshots."""
    points = sorted(
        (e.at, e.net_liquidation)
        for ledger in ledgers
        for e in ledger.equity_history(since=start)
        if e.at < end
    )
    if not points:
        return {"portfolio_value": None, "daily_pnl": None, "max_drawdown_pct": None}
    peak, deepest = points[0][1], 0.0
    for _, value in points:
        peak = max(peak, value)
        if peak > 0:
            deepest = max(deepest, (peak - value) / peak * 100.0)
    first, last = points[0][1], points[-1][1]
    return {"portfolio_value": last, "daily_pnl": last - first, "max_drawdown_pct": deepest}


def summary_event(
    sessions: sessionmaker[Session],
    strategies: Iterable[str],
    day: date,
    zone: ZoneInfo,
    at: datetime,
    multipliers: Mapping[str, float] | None = None,
) -> AlertEvent:
    start, end = day_bounds(day, zone)
    names = list(strategies)
    found = attribute(sessions, names, start, end, multipliers=multipliers)
    account = account_day([Ledger(sessions, name) for name in names], start, end)
    drift = DriftResults(sessions, lambda: at).latest()
    total = {
        "trades": sum(s.trades for s in found.strategies),
        "realized_pnl": sum(s.realized_pnl for s in found.strategies),
        "commission": sum(s.commission for s in found.strategies),
        "unrealized_change": _sum(s.unrealized_change for s in found.strategies),
        "net_pnl": found.account.strategies_pnl,
    }
    lines = [
        *table_lines(found),
        "",
        f"portfolio value: {_money(account['portfolio_value'])}",
        f"P&L today (account): {_money(found.account.pnl)}",
        f"not explained by the strategies: {_money(found.account.unexplained)}",
        f"max intraday drawdown: {_pct(account['max_drawdown_pct'])}",
    ]
    drift_lines = [drift_line(drift[name]) for name in names if name in drift]
    if drift_lines:
        lines += ["", *drift_lines]
    message = (
        f"{day.isoformat()}: P&L {_money(found.account.pnl)}, "
        f"{total['trades']} trades, realized {total['realized_pnl']:,.2f}"
    )
    data = {
        "day": day.isoformat(),
        "table": "\n".join(lines),
        **total,
        **account,
        "daily_pnl": found.account.pnl,
        "unexplained_pnl": found.account.unexplained,
        "strategies": [s.as_dict() for s in found.strategies],
        "drift": [as_dict(drift[name]) for name in names if name in drift],
    }
    return AlertEvent(EventKind.DAILY_SUMMARY, "info", message, at, data=data, key=day.isoformat())


def drift_line(result: DriftResult) -> str:
    """E.g. "drift sma_goog -0.42% (-420.00; slippage -300.00, commissions -120.00)
    2026-12-01..12-04": the causes that moved it, largest first."""
    causes = sorted(
        ((k, v) for k, v in result.components.items() if abs(v) >= 0.005),
        key=lambda kv: -abs(kv[1]),
    )
    parts = "".join(f", {k} {v:,.2f}" for k, v in causes).lstrip(", ")
    detail = f"{result.drift_pnl:,.2f}" + (f"; {parts}" if parts else "")
    return f"drift {result.strategy} {result.drift_pct:+.2f}% ({detail}) {period(result)}"


def period(result: DriftResult) -> str:
    a, b = result.period_from, result.period_to
    return f"{a.isoformat()}..{b.isoformat()[5:] if a.year == b.year else b.isoformat()}"


def _sum(values: Iterable[float | None]) -> float | None:
    known = list(values)
    return None if any(v is None for v in known) else sum(v or 0.0 for v in known)


def _money(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}%"
