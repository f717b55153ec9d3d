"""The daily P&L summary: when it is due, and its numbers, from the persisted fills.

Per strategy: fills today (trades), realized P&L and commissions today (IB's numbers on
those fills), unrealized P&L of the open positions now (the worker's last snapshot). For
the account: portfolio value (the last net liquidation recorded), P&L today (against the
day's starting equity) and the deepest intraday drawdown of the recorded equity. "Today"
is the calendar day in the summary's time zone; the summary goes out once per trading day
(Monday to Friday) at `[alerts.summary] time`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from tradd.alerts.model import AlertEvent
from tradd.config.alerts import SummarySettings
from tradd.persistence.ledger import Ledger
from tradd.records.events import EventKind
from tradd.records.status import WorkerStatus


@dataclass(frozen=True)
class StrategyDay:
    name: str
    trades: int
    realized_pnl: float
    commission: float
    unrealized_pnl: float | None


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


def strategy_day(
    ledger: Ledger, start: datetime, end: datetime, snapshot: WorkerStatus | None
) -> StrategyDay:
    fills = [f for f in ledger.fills(since=start) if f.executed_at < end]
    return StrategyDay(
        ledger.strategy,
        len(fills),
        sum(f.realized_pnl or 0.0 for f in fills),
        sum(f.commission or 0.0 for f in fills),
        snapshot.unrealized_pnl if snapshot is not None else None,
    )


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
    snapshots: Mapping[str, WorkerStatus | None],
    at: datetime,
) -> AlertEvent:
    start, end = day_bounds(day, zone)
    ledgers = [Ledger(sessions, name) for name in strategies]
    days = [strategy_day(ledger, start, end, snapshots.get(ledger.strategy)) for ledger in ledgers]
    account = account_day(ledgers, start, end)
    total = {
        "trades": sum(d.trades for d in days),
        "realized_pnl": sum(d.realized_pnl for d in days),
        "commission": sum(d.commission for d in days),
        "unrealized_pnl": sum(d.unrealized_pnl or 0.0 for d in days),
    }
    lines = [
        f"{'strategy':<16} {'trades':>6} {'realized':>12} {'commission':>10} {'unrealized':>12}"
    ]
    for d in days:
        lines.append(
            f"{d.name:<16} {d.trades:>6} {d.realized_pnl:>12,.2f} {d.commission:>10,.2f} "
            f"{_money(d.unrealized_pnl):>12}"
        )
    lines.append(
        f"{'total':<16} {total['trades']:>6} {total['realized_pnl']:>12,.2f} "
        f"{total['commission']:>10,.2f} {total['unrealized_pnl']:>12,.2f}"
    )
    lines += [
        "",
        f"portfolio value: {_money(account['portfolio_value'])}",
        f"P&L today (account): {_money(account['daily_pnl'])}",
        f"max intraday drawdown: {_pct(account['max_drawdown_pct'])}",
    ]
    message = (
        f"{day.isoformat()}: P&L {_money(account['daily_pnl'])}, "
        f"{total['trades']} trades, realized {total['realized_pnl']:,.2f}"
    )
    data = {
        "day": day.isoformat(),
        "table": "\n".join(lines),
        **total,
        **account,
        "strategies": [d.__dict__ for d in days],
    }
    return AlertEvent(EventKind.DAILY_SUMMARY, "info", message, at, data=data, key=day.isoformat())


def _money(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}%"
