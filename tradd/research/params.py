"""Strategy parameters from the command line and params files.

Types come from the strategy's defaults: `fast=10` makes `fast` an int, so `--param
fast=5:50:5` is an int range and `fast=7.5` is an error. Range syntax:
- `START:STOP:STEP`  inclusive of STOP (ints or floats; floats are stepped exactly),
- `a,b,c`            a list of choices,
- `v`                a single value.
A params file (TOML) holds the same strings, or arrays, under `[params]`.
"""

from __future__ import annotations

import itertools
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

from tradd.errors import UsageError

Kind = Literal["int", "float", "choice"]
MAX_GRID = 1_000_000


@dataclass(frozen=True)
class ParamRange:
    name: str
    kind: Kind
    values: tuple[Any, ...]
    step: float | int | None = None
    """For int/float ranges: the step, so Bayesian search samples the same lattice."""

    @property
    def low(self) -> Any:
        return self.values[0]

    @property
    def high(self) -> Any:
        return self.values[-1]


def split_assignment(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip() or not value.strip():
        raise UsageError(f"--param {text!r}: expected NAME=VALUE or NAME=START:STOP:STEP")
    return name.strip(), value.strip()


def parse_value(name: str, text: str, default: Any) -> Any:
    """One value typed like the parameter's default."""
    try:
        if isinstance(default, bool):
            return _parse_bool(text)
        if isinstance(default, int):
            return int(text)
        if isinstance(default, float):
            return float(text)
    except ValueError:
        kind = type(default).__name__
        raise UsageError(f"--param {name}={text}: {text!r} is not a valid {kind}") from None
    return text


def _parse_bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise ValueError(text)


def parse_range(name: str, spec: Any, default: Any) -> ParamRange:
    """A range from CLI text or a params-file value (string, number or array)."""
    if isinstance(spec, list):
        return _choices(name, [parse_value(name, str(v), default) for v in spec])
    text = str(spec).strip()
    if ":" in text:
        return _stepped(name, text, default)
    if "," in text:
        return _choices(
            name, [parse_value(name, part.strip(), default) for part in text.split(",")]
        )
    return _choices(name, [parse_value(name, text, default)])


def _choices(name: str, values: list[Any]) -> ParamRange:
    if not values:
        raise UsageError(f"--param {name}: empty list of values")
    unique = tuple(dict.fromkeys(values))
    return ParamRange(name, "choice", unique)


def _stepped(name: str, text: str, default: Any) -> ParamRange:
    parts = text.split(":")
    if len(parts) != 3:
        raise UsageError(f"--param {name}={text}: a range is START:STOP:STEP")
    if isinstance(default, bool) or not isinstance(default, int | float):
        raise UsageError(f"--param {name}={text}: ranges need a numeric parameter")
    try:
        start, stop, step = (Decimal(p) for p in parts)
    except InvalidOperation:
        raise UsageError(f"--param {name}={text}: START, STOP and STEP must be numbers") from None
    if step <= 0:
        raise UsageError(f"--param {name}={text}: STEP must be positive")
    if start > stop:
        raise UsageError(f"--param {name}={text}: empty range (START is after STOP)")
    count = int((stop - start) / step) + 1
    if count > MAX_GRID:
        raise UsageError(f"--param {name}={text}: {count} values is too many")
    if isinstance(default, int):
        if any(p != p.to_integral_value() for p in (start, stop, step)):
            raise UsageError(f"--param {name}={text}: {name} is an integer parameter")
        ints = tuple(int(start + i * step) for i in range(count))
        return ParamRange(name, "int", ints, int(step))
    floats = tuple(float(start + i * step) for i in range(count))
    return ParamRange(name, "float", floats, float(step))


def load_params_file(path: Path) -> dict[str, Any]:
    """The `[params]` table of a params file (plain top-level keys are accepted too)."""
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise UsageError(f"--params-file {path}: no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"--params-file {path}: not valid TOML: {exc}") from None
    table = data.get("params", data)
    if not isinstance(table, dict):
        raise UsageError(f"--params-file {path}: [params] must be a table")
    return table


def build_space(
    defaults: Mapping[str, Any], cli: list[str], file_specs: Mapping[str, Any]
) -> list[ParamRange]:
    """Ranges from the file, overridden by the command line, in the strategy's param order."""
    specs: dict[str, Any] = dict(file_specs)
    for item in cli:
        name, value = split_assignment(item)
        specs[name] = value
    unknown = sorted(set(specs) - set(defaults))
    if unknown:
        raise UsageError(
            f"unknown parameter {', '.join(map(repr, unknown))}; "
            f"the strategy has {', '.join(defaults) or 'none'}"
        )
    return [parse_range(name, specs[name], defaults[name]) for name in defaults if name in specs]


def grid(space: list[ParamRange]) -> Iterator[dict[str, Any]]:
    names = [r.name for r in space]
    for values in itertools.product(*(r.values for r in space)):
        yield dict(zip(names, values, strict=True))


def grid_size(space: list[ParamRange]) -> int:
    size = 1
    for r in space:
        size *= len(r.values)
    return size


def parse_fixed_params(defaults: Mapping[str, Any], cli: list[str]) -> dict[str, Any]:
    """`--param k=v` for a single backtest: single values only."""
    chosen: dict[str, Any] = {}
    for item in cli:
        name, value = split_assignment(item)
        if name not in defaults:
            raise UsageError(
                f"unknown parameter {name!r}; the strategy has {', '.join(defaults) or 'none'}"
            )
        chosen[name] = parse_value(name, value, defaults[name])
    return chosen
