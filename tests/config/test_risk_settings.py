"""The `[risk]` section: sensible actions per rule, per-rule defaults, per-strategy overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from tradd.config.loader import load_settings
from tradd.config.risk import RiskSettings
from tradd.config.settings import Settings
from tradd.errors import ConfigError

from ..conftest import CONFIG


def load(tmp_path: Path, text: str) -> Settings:
    path = tmp_path / "tradd.toml"
    path.write_text(text)
    return load_settings(path, environ={}, dotenv_path=None)


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text)
    return caught.value.problems


@pytest.mark.parametrize(
    ("key", "action", "expected"),
    [
        (
            "position_limit",
            "REDUCE_SIZE",
            "REDUCE_SIZE cannot apply to a count; use BLOCK or ALERT",
        ),
        ("position_limit", "CLOSE_POSITION", "CLOSE_POSITION cannot apply to a count"),
        ("max_orders_per_minute", "REDUCE_SIZE", "REDUCE_SIZE cannot apply to a rate"),
        ("max_orders_per_minute", "CLOSE_POSITION", "CLOSE_POSITION cannot apply to a rate"),
        ("max_order_value", "CLOSE_POSITION", "CLOSE_POSITION cannot apply to one order's value"),
        ("max_daily_loss", "REDUCE_SIZE", "REDUCE_SIZE cannot apply to an equity loss"),
        ("max_drawdown", "REDUCE_SIZE", "REDUCE_SIZE cannot apply to an equity loss"),
    ],
)
def test_action_that_cannot_apply_is_a_config_error_with_the_key_path(
    tmp_path: Path, key: str, action: str, expected: str
) -> None:
    found = problems(tmp_path, f'[risk.{key}]\naction = "{action}"\n')
    assert len(found) == 1
    assert found[0].startswith(f"risk.{key}.action: {expected}")
    assert f"(got '{action}')" in found[0]


@pytest.mark.parametrize(
    ("key", "actions"),
    [
        ("max_position_size", ("BLOCK", "ALERT", "REDUCE_SIZE", "CLOSE_POSITION")),
        ("max_leverage", ("BLOCK", "ALERT", "REDUCE_SIZE", "CLOSE_POSITION")),
        ("max_order_value", ("BLOCK", "ALERT", "REDUCE_SIZE")),
        ("max_daily_loss", ("BLOCK", "ALERT", "CLOSE_POSITION")),
        ("max_drawdown", ("BLOCK", "ALERT", "CLOSE_POSITION")),
        ("position_limit", ("BLOCK", "ALERT")),
        ("max_orders_per_minute", ("BLOCK", "ALERT")),
    ],
)
def test_sensible_actions_load(tmp_path: Path, key: str, actions: tuple[str, ...]) -> None:
    for action in actions:
        settings = load(tmp_path, f'[risk.{key}]\naction = "{action}"\n')
        assert getattr(settings.risk, key).action == action


def test_unknown_action_and_fractional_counts_are_refused(tmp_path: Path) -> None:
    found = "\n".join(
        problems(
            tmp_path,
            '[risk.max_leverage]\naction = "PANIC"\n'
            "[risk.position_limit]\nlimit = 2.5\n"
            "[risk.max_orders_per_minute]\nlimit = -1\n",
        )
    )
    assert "risk.max_leverage.action: Input should be 'BLOCK', 'ALERT'" in found
    assert "risk.position_limit.limit: must be a whole number (got 2.5)" in found
    assert "risk.max_orders_per_minute.limit: Input should be greater than or equal to 0" in found


def test_a_partial_rule_keeps_that_rules_defaults(tmp_path: Path) -> None:
    settings = load(tmp_path, "[risk.max_position_size]\nlimit = 10\n[risk.max_drawdown]\n")
    assert settings.risk.max_position_size.limit == 10
    assert settings.risk.max_position_size.action == "REDUCE_SIZE"
    assert settings.risk.max_drawdown.action == "CLOSE_POSITION"
    assert settings.risk.max_drawdown.limit == 15


def test_environment_sets_one_rule_key(tmp_path: Path) -> None:
    path = tmp_path / "tradd.toml"
    path.write_text("")
    environ = {"TRADD_RISK__MAX_ORDER_VALUE__LIMIT": "25000"}
    settings = load_settings(path, environ=environ, dotenv_path=None)
    assert settings.risk.max_order_value.limit == 25_000
    assert settings.risk.max_order_value.action == "REDUCE_SIZE"


STRATEGY = """
[[strategies]]
name = "sma"
strategy = "strategies.sma_cross.SmaCross"
symbols = ["GOOG"]
client_id = 7
"""


def test_per_strategy_override_merges_key_by_key(tmp_path: Path) -> None:
    text = (
        '[risk.max_position_size]\nlimit = 20\naction = "BLOCK"\n'
        + STRATEGY
        + "risk = { max_position_size = { limit = 10 }, max_orders_per_minute = { limit = 5 } }\n"
    )
    settings = load(tmp_path, text)
    merged = settings.strategy_risk(settings.strategy("sma"))
    assert merged.max_position_size.limit == 10
    assert merged.max_position_size.action == "BLOCK"  # from the global [risk]
    assert merged.max_orders_per_minute.limit == 5
    assert settings.risk.max_position_size.limit == 20


def test_invalid_per_strategy_override_fails_at_load(tmp_path: Path) -> None:
    text = STRATEGY + 'risk = { position_limit = { action = "REDUCE_SIZE" } }\n'
    found = "\n".join(problems(tmp_path, text))
    assert "strategies.sma.risk" in found
    assert "position_limit.action" in found
    assert "REDUCE_SIZE cannot apply to a count" in found


def test_shipped_config_documents_the_defaults() -> None:
    assert load_settings(CONFIG, environ={}, dotenv_path=None).risk == RiskSettings()


def test_off_switches_a_rule_off(tmp_path: Path) -> None:
    settings = load(
        tmp_path,
        '[risk.max_position_size]\nlimit = "off"\n[risk.max_daily_loss]\nlimit_pct = "OFF"\n',
    )
    assert settings.risk.max_position_size.limit is None
    assert settings.risk.max_daily_loss.limit_pct is None
    environ = {"TRADD_RISK__MAX_LEVERAGE__LIMIT": "off"}
    path = tmp_path / "tradd.toml"
    assert load_settings(path, environ=environ, dotenv_path=None).risk.max_leverage.limit is None
