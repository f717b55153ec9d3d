"""Risk rule settings: one frozen section per rule, each with a limit and an action.

A rule with `limit = None` is off (TOML has no null: write `limit = "off"`). Each
rule's section knows which actions make sense for what it measures, so a nonsensical
pairing (shrinking an order because of a count, closing positions because of an order
rate) is refused when the configuration loads, with the key path, instead of surprising
a trader at the first breach. Per-strategy overrides (`[strategies.risk]`) are merged
over the global `[risk]` table key by key and re-validated through `RiskSettings`, so
these checks cover them too.

Each rule's defaults live on its own section class, so `[risk.max_position_size]` with
only `limit = 10` keeps that rule's default action (REDUCE_SIZE) instead of silently
falling back to a generic one.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from tradd.config.base import Section

RuleAction = Literal["BLOCK", "ALERT", "REDUCE_SIZE", "CLOSE_POSITION"]
OFF_WORDS = ("off", "none")
ALL_ACTIONS: tuple[RuleAction, ...] = ("BLOCK", "ALERT", "REDUCE_SIZE", "CLOSE_POSITION")


class RuleSettings(Section):
    """A limit and what to do when it is exceeded; subclasses narrow the actions."""

    allowed_actions: ClassVar[tuple[RuleAction, ...]] = ALL_ACTIONS
    measures: ClassVar[str] = "this rule"
    """What the limit measures, for the error message ("a count", "a rate", ...)."""

    limit: float | None = Field(None, ge=0)
    """The threshold; None (`"off"`) switches the rule off."""
    action: RuleAction = "BLOCK"

    @field_validator("limit", "limit_pct", mode="before", check_fields=False)
    @classmethod
    def _off_is_none(cls, value: object) -> object:
        """TOML has no null: `limit = "off"` (or "none") switches a rule off."""
        if isinstance(value, str) and value.strip().lower() in OFF_WORDS:
            return None
        return value

    @field_validator("action")
    @classmethod
    def _action_fits_the_rule(cls, action: RuleAction) -> RuleAction:
        if action not in cls.allowed_actions:
            raise PydanticCustomError(
                "action_not_allowed",
                "{action} cannot apply to {measures}; use {allowed}",
                {
                    "action": action,
                    "measures": cls.measures,
                    "allowed": _either(cls.allowed_actions),
                },
            )
        return action


def _either(actions: tuple[str, ...]) -> str:
    return f"{', '.join(actions[:-1])} or {actions[-1]}" if len(actions) > 1 else actions[0]


class _CountSettings(RuleSettings):
    """Counts are whole numbers: 2.5 positions or 2.5 orders is a typo, not a limit."""

    @field_validator("limit")
    @classmethod
    def _whole_number(cls, limit: float | None) -> float | None:
        if limit is not None and limit != int(limit):
            raise PydanticCustomError("not_whole", "must be a whole number")
        return limit


class PositionSizeSettings(RuleSettings):
    """Value of the strategy's position in one symbol after the order, % of net liquidation.

    CLOSE_POSITION closes that symbol's position.
    """

    measures = "a position's size"

    limit: float | None = Field(25.0, ge=0)
    action: RuleAction = "REDUCE_SIZE"


class DailyLossSettings(RuleSettings):
    """Loss since the day's starting equity. Either limit breaches."""

    allowed_actions = ("BLOCK", "ALERT", "CLOSE_POSITION")
    measures = "an equity loss (there is no order size to shrink)"

    limit: float | None = Field(None, ge=0)
    """Loss since the day's starting equity, in account currency."""
    limit_pct: float | None = Field(3.0, ge=0, le=100)
    """The same as a percentage of the day's starting equity; either limit breaches."""


class DrawdownSettings(RuleSettings):
    """Equity below its peak, in percent. CLOSE_POSITION closes all the strategy's positions."""

    allowed_actions = ("BLOCK", "ALERT", "CLOSE_POSITION")
    measures = "an equity loss (there is no order size to shrink)"

    limit: float | None = Field(15.0, ge=0, le=100)
    action: RuleAction = "CLOSE_POSITION"


class PositionLimitSettings(_CountSettings):
    """Number of symbols with a non-zero position, counting the one the order would open."""

    allowed_actions = ("BLOCK", "ALERT")
    measures = "a count"

    limit: float | None = Field(10, ge=0)


class LeverageSettings(RuleSettings):
    """Account gross exposure including the order, divided by net liquidation.

    CLOSE_POSITION closes all the strategy's positions.
    """

    measures = "leverage"

    limit: float | None = Field(2.0, ge=0)


class OrderValueSettings(RuleSettings):
    """Quantity times price of one order, in account currency."""

    allowed_actions = ("BLOCK", "ALERT", "REDUCE_SIZE")
    measures = "one order's value (no position to close)"

    action: RuleAction = "REDUCE_SIZE"


class OrderRateSettings(_CountSettings):
    """Orders of this strategy that passed the gate in the last 60 seconds."""

    allowed_actions = ("BLOCK", "ALERT")
    measures = "a rate"

    limit: float | None = Field(30, ge=0)


class RiskSettings(Section):
    """The pre-trade gate's rules (see `tradd.risk`). `enabled = false` turns every rule off;
    a HALTED or REDUCING strategy stays so (trading state is not a rule)."""

    enabled: bool = True
    max_position_size: PositionSizeSettings = PositionSizeSettings()
    max_daily_loss: DailyLossSettings = DailyLossSettings()
    max_drawdown: DrawdownSettings = DrawdownSettings()
    position_limit: PositionLimitSettings = PositionLimitSettings()
    max_leverage: LeverageSettings = LeverageSettings()
    max_order_value: OrderValueSettings = OrderValueSettings()
    max_orders_per_minute: OrderRateSettings = OrderRateSettings()
