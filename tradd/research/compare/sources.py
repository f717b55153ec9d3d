"""`--params-from FILE`: the parameters a strategy is compared with, from an earlier run.

Accepted, recognised by content: `optimization.json` from `tradd optimize` (its best
params), `walkforward.json` from `tradd walkforward` (the last window's best params: the
ones that would trade next), `result.json` from `tradd backtest` (its params), or a TOML
file with a `[params]` table (e.g. `best_params.toml`). When the file names its strategy,
it must be the strategy it is given for: comparing SmaCross with RsiReversion's parameters
is a mistake to stop, not to guess around.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import backtrader as bt

from tradd.errors import UsageError
from tradd.research.params import parse_value
from tradd.strategy_loader import load_strategy, param_defaults

OPTION = "--params-from"


@dataclass(frozen=True)
class ParamsSource:
    path: Path
    kind: str
    """optimization, walkforward, backtest or toml."""
    strategy: str | None
    params: dict[str, Any]


def read_source(path: Path) -> ParamsSource:
    """The file's parameters as written (untyped), and the strategy it names, if any."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise UsageError(f"{OPTION} {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{OPTION} {path}: cannot read: {exc}") from None
    if path.suffix.lower() == ".toml":
        return _from_toml(path, text)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{OPTION} {path}: not valid JSON ({exc}) nor a .toml file") from None
    if not isinstance(document, dict):
        raise UsageError(f"{OPTION} {path}: expected a JSON object")
    return _from_json(path, document)


def _from_toml(path: Path, text: str) -> ParamsSource:
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{OPTION} {path}: not valid TOML: {exc}") from None
    table = document.get("params")
    if not isinstance(table, dict):
        raise UsageError(f"{OPTION} {path}: no [params] table")
    return ParamsSource(path, "toml", _strategy_name(path, document), table)


def _from_json(path: Path, document: dict[str, Any]) -> ParamsSource:
    strategy = _strategy_name(path, document)
    if "windows" in document:
        windows = document["windows"]
        if not isinstance(windows, list) or not windows:
            raise UsageError(f"{OPTION} {path}: the walk-forward has no windows")
        last = windows[-1]
        params = last.get("best_params") if isinstance(last, dict) else None
        return ParamsSource(path, "walkforward", strategy, _table(path, params, "best_params"))
    if "best_params" in document:
        params = document["best_params"]
        if params is None:
            raise UsageError(f"{OPTION} {path}: the optimization has no completed trial")
        return ParamsSource(path, "optimization", strategy, _table(path, params, "best_params"))
    if "params" in document and "metrics" in document:
        return ParamsSource(path, "backtest", strategy, _table(path, document["params"], "params"))
    raise UsageError(
        f"{OPTION} {path}: not an optimization.json, walkforward.json or backtest result.json "
        "(nor a .toml file with [params])"
    )


def _table(path: Path, value: Any, key: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise UsageError(f"{OPTION} {path}: {key} is not an object of parameters")
    return value


def _strategy_name(path: Path, document: Mapping[str, Any]) -> str | None:
    name = document.get("strategy")
    if name is not None and not isinstance(name, str):
        raise UsageError(f"{OPTION} {path}: 'strategy' is not a dotted path")
    return name


def params_for(
    source: ParamsSource, strategy_path: str, strategy: type[bt.Strategy]
) -> dict[str, Any]:
    """The source's parameters, checked against and typed like `strategy`'s defaults."""
    if source.strategy is not None and not _same_strategy(source.strategy, strategy_path, strategy):
        raise UsageError(
            f"{OPTION} {source.path}: parameters of {source.strategy}, "
            f"but it is given for {strategy_path}"
        )
    defaults = param_defaults(strategy)
    unknown = sorted(set(source.params) - set(defaults))
    if unknown:
        raise UsageError(
            f"{OPTION} {source.path}: {strategy_path} has no parameter "
            f"{', '.join(map(repr, unknown))}; its parameters are {', '.join(defaults) or 'none'}"
        )
    return {name: _typed(source.path, name, v, defaults[name]) for name, v in source.params.items()}


def _same_strategy(named: str, given: str, strategy: type[bt.Strategy]) -> bool:
    if named == given:
        return True
    try:  # another path to the same class (a re-export) is the same strategy
        return load_strategy(named) is strategy
    except UsageError:
        return False


def _typed(path: Path, name: str, value: Any, default: Any) -> Any:
    if isinstance(value, list | dict):
        raise UsageError(f"{OPTION} {path}: {name} must be a single value, not {value!r}")
    try:
        return parse_value(name, str(value), default)
    except UsageError:
        kind = type(default).__name__
        raise UsageError(f"{OPTION} {path}: {name} = {value!r} is not a valid {kind}") from None
