"""Drift and attribution on the live page: `GET /api/v1/live/drift` (viewer).

From the database, not the daemon: each configured strategy's latest `tradd drift`
result and its attribution of today (the day in `[alerts.summary] timezone`, as the
daily summary counts it), and the account's P&L no strategy explains.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from fastapi import APIRouter

from tradd.alerts.drift import largest_cause
from tradd.alerts.summary import day_bounds, drift_line
from tradd.persistence.attribution import Attribution, attribute
from tradd.persistence.drift_results import DriftResult, DriftResults
from tradd.web.auth.deps import Context, Viewer
from tradd.web.drift_records import (
    AccountToday,
    DriftFigures,
    LiveDrift,
    StrategyToday,
    StrategyWatch,
)

router = APIRouter(prefix="/api/v1/live", tags=["live"])


@router.get("/drift")
def drift(user: Viewer, ctx: Context) -> LiveDrift:
    """Each strategy's latest drift and today's attribution; the unexplained account P&L."""
    zone_name = ctx.settings.alerts.summary.timezone
    zone = ZoneInfo(zone_name)
    now = ctx.clock()
    day = now.astimezone(zone).date()
    start, end = day_bounds(day, zone)
    names = [s.name for s in ctx.settings.strategies]
    found = attribute(ctx.database, names, start, min(end, now))
    latest = DriftResults(ctx.database, ctx.clock).latest()
    return LiveDrift(
        day=day,
        timezone=zone_name,
        strategies=[_watch(name, found, latest.get(name)) for name in names],
        account=AccountToday.model_validate(found.account.as_dict()),
    )


def _watch(name: str, found: Attribution, result: DriftResult | None) -> StrategyWatch:
    today = found.strategy(name).as_dict()
    today.pop("strategy")
    return StrategyWatch(
        name=name,
        drift=None if result is None else _figures(result),
        today=StrategyToday.model_validate(today),
    )


def _figures(result: DriftResult) -> DriftFigures:
    cause = largest_cause(result)
    return DriftFigures(
        computed_at=result.computed_at, period_from=result.period_from,
        period_to=result.period_to, live_pnl=result.live_pnl, replay_pnl=result.replay_pnl,
        drift_pnl=result.drift_pnl, drift_pct=result.drift_pct,
        components=dict(result.components), largest_cause=cause[0] if cause else None,
        report_path=result.report_path, alerted=result.alerted_at is not None,
        line=drift_line(result),
    )  # fmt: skip
