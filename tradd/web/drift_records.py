"""The bodies of `GET /api/v1/live/drift`: each strategy's latest drift and today's
attribution, and the account's P&L no strategy explains.

Read from the database the daemon and `tradd drift` write (`drift_results`, the ledger),
so the page shows them with the daemon down too. The figures are defined in
`tradd.persistence.attribution` and docs/metrics-alerts.md.
"""

from __future__ import annotations

from datetime import date, datetime

from tradd.web.records import Body


class DriftFigures(Body):
    """A strategy's latest `tradd drift` result."""

    computed_at: datetime
    period_from: date
    period_to: date
    live_pnl: float
    replay_pnl: float
    drift_pnl: float
    """Live minus replay, in the account's currency."""
    drift_pct: float
    """`drift_pnl` as a percentage of the replay's starting equity."""
    components: dict[str, float]
    """`drift_pnl` split by cause: signal, slippage, commissions, refused, offline, other."""
    largest_cause: str | None
    report_path: str | None
    alerted: bool
    """It was beyond `[drift] alert_pct` and its alert went out."""
    line: str
    """As the daily summary prints it."""


class StrategyToday(Body):
    """The strategy's share of the account's P&L today (in the summary's time zone)."""

    trades: int
    realized_pnl: float
    """Gross, on the strategy's own average cost."""
    commission: float
    unrealized_start: float | None
    unrealized_end: float | None
    unrealized_change: float | None
    net_pnl: float | None
    """realized + unrealized change - commission; None while a snapshot is missing."""


class StrategyWatch(Body):
    name: str
    drift: DriftFigures | None
    """None: `tradd drift` has not run for it."""
    today: StrategyToday


class AccountToday(Body):
    net_liquidation_start: float | None
    net_liquidation_end: float | None
    pnl: float | None
    strategies_pnl: float | None
    unexplained: float | None
    """The account's P&L today that no strategy explains (manual trades, fees, interest)."""


class LiveDrift(Body):
    """`GET /api/v1/live/drift`."""

    day: date
    timezone: str
    strategies: list[StrategyWatch]
    account: AccountToday
