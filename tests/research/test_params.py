from __future__ import annotations

from pathlib import Path

import pytest

from tradd.errors import UsageError
from tradd.research.params import build_space, grid, grid_size, parse_fixed_params, parse_range

DEFAULTS = {"fast": 10, "slow": 30, "threshold": 0.0, "mode": "long", "flag": False}


def test_int_range_is_inclusive() -> None:
    r = parse_range("fast", "5:50:5", 10)
    assert r.kind == "int" and r.values == (5, 10, 15, 20, 25, 30, 35, 40, 45, 50) and r.step == 5


def test_float_range_is_exact() -> None:
    r = parse_range("threshold", "0.01:0.09:0.01", 0.0)
    assert r.values == (0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.08, 0.09)
    assert parse_range("threshold", "0:1:0.3", 0.0).values == (0.0, 0.3, 0.6, 0.9)


def test_choices_and_single_values_are_typed() -> None:
    assert parse_range("fast", "5,10,5", 10).values == (5, 10)
    assert parse_range("mode", "long,short", "long").values == ("long", "short")
    assert parse_range("flag", "true", False).values == (True,)
    assert parse_range("fast", [5, 7], 10).values == (5, 7)


@pytest.mark.parametrize(
    ("name", "spec", "message"),
    [
        ("fast", "50:5:5", "empty range"),
        ("fast", "5:50:0", "STEP must be positive"),
        ("fast", "5:50", "a range is START:STOP:STEP"),
        ("fast", "5:50:2.5", "fast is an integer parameter"),
        ("fast", "a:b:c", "must be numbers"),
        ("fast", "7.5", "'7.5' is not a valid int"),
        ("mode", "1:2:1", "ranges need a numeric parameter"),
    ],
)
def test_bad_ranges_are_explained(name: str, spec: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_range(name, spec, DEFAULTS[name])


def test_space_from_file_and_cli_in_strategy_order(tmp_path: Path) -> None:
    space = build_space(DEFAULTS, ["fast=5:10:5"], {"slow": "20:30:10", "fast": "1:2:1"})
    assert [r.name for r in space] == ["fast", "slow"]
    assert space[0].values == (5, 10)  # the command line wins over the file
    assert grid_size(space) == 4
    assert next(iter(grid(space))) == {"fast": 5, "slow": 20}


def test_unknown_parameter_names_the_known_ones() -> None:
    with pytest.raises(UsageError, match="unknown parameter 'speed'; the strategy has fast, slow"):
        build_space(DEFAULTS, ["speed=1:2:1"], {})
    with pytest.raises(UsageError, match="expected NAME=VALUE"):
        build_space(DEFAULTS, ["fast"], {})


def test_fixed_params_for_backtest() -> None:
    assert parse_fixed_params(DEFAULTS, ["fast=7", "threshold=0.5"]) == {
        "fast": 7,
        "threshold": 0.5,
    }
    with pytest.raises(UsageError, match="unknown parameter 'nope'"):
        parse_fixed_params(DEFAULTS, ["nope=1"])
