"""The search space of `tradd optimize` and `tradd walkforward`, from the same options.

Both commands take `--param NAME=RANGE` and `--params-file`, need something to vary, and
run only the grid combinations the strategy accepts; one place keeps their errors alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import backtrader as bt

from tradd.errors import UsageError
from tradd.research.params import ParamRange, build_space, grid, grid_size, load_params_file
from tradd.strategy_loader import full_params, invalid_reason, param_defaults


def search_space(
    strategy: type[bt.Strategy], param_args: Sequence[str], params_file: Path | None
) -> list[ParamRange]:
    """The ranges given on the command line over those of the file, over the defaults."""
    from_file = load_params_file(params_file) if params_file else {}
    space = build_space(param_defaults(strategy), list(param_args), from_file)
    if not any(len(r.values) > 1 for r in space):
        raise UsageError(
            "nothing to optimize: give ranges with --param NAME=START:STOP:STEP or --params-file"
        )
    return space


def valid_grid(
    strategy: type[bt.Strategy], space: list[ParamRange]
) -> tuple[list[dict[str, Any]], int]:
    """Every grid combination the strategy accepts, and how many it refused (never run)."""
    combos, skipped = [], 0
    for params in grid(space):
        if invalid_reason(strategy, full_params(strategy, params)):
            skipped += 1
        else:
            combos.append(params)
    if not combos:
        raise UsageError(f"all {grid_size(space)} combinations are invalid for the strategy")
    return combos, skipped
