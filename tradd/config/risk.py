"""Risk rule settings: one frozen section per rule, each with a limit and an action.

A rule with `limit = None` is off. Per-strategy overrides (`[strategies.risk]`) are
merged over the global `[risk]` table key by key, so a strategy changes only what it
names.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from tradd.config.base import Section

RuleAction = Literal["BLOCK", "ALERT", "REDUCE_SIZE", "CLOSE_POSITION"]


class RuleSettings(Section):
    limit: float | None = Field(None, ge=0)
    """The threshold; None switches the rule off."""
    action: RuleAction = "BLOCK"


class DailyLossSettings(Section):
    limit: float | None = Field(None, ge=0)
    """Loss since the day's starting equity, in account currency."""
    limit_pct: float | None = Field(None, ge=0, le=100)
    """The same as a percentage of the day's starting equity; either limit breaches."""
    action: RuleAction = "BLOCK"


class RiskSettings(Section):
    enabled: bool = True
    max_position_size: RuleSettings = RuleSettings(limit=25.0, action="REDUCE_SIZE")
    """Value of one position as a percentage of net liquidation."""
    max_daily_loss: DailyLossSettings = DailyLossSettings(limit_pct=3.0, action="BLOCK")
    max_drawdown: RuleSettings = RuleSettings(limit=15.0, action="CLOSE_POSITION")
    """Equity below its peak, in percent."""
    position_limit: RuleSettings = RuleSettings(limit=10, action="BLOCK")
    """Number of open positions (symbols with a non-zero position)."""
    max_leverage: RuleSettings = RuleSettings(limit=2.0, action="BLOCK")
    """Gross exposure divided by net liquidation."""
    max_order_value: RuleSettings = RuleSettings(limit=None, action="REDUCE_SIZE")
    """Value of one order in account currency."""
    max_orders_per_minute: RuleSettings = RuleSettings(limit=30, action="BLOCK")

    @model_validator(mode="after")
    def _rate_rule_cannot_resize(self) -> RiskSettings:
        if self.max_orders_per_minute.action == "REDUCE_SIZE":
            raise ValueError("max_orders_per_minute.action: REDUCE_SIZE makes no sense for a rate")
        return self
