"""`--strategies all`: every strategy class defined in the `strategies` package.

A class counts when it is a Backtrader Strategy subclass defined in that module (not one
it imports, such as tradd's own base class), so each strategy is found exactly once.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

import backtrader as bt

from tradd.errors import UsageError
from tradd.strategy_loader import load_strategy

PACKAGE = "strategies"


def discover_strategies(package: str = PACKAGE) -> tuple[str, ...]:
    """Dotted paths (`strategies.sma_cross.SmaCross`), sorted by module and class."""
    cwd = str(Path.cwd())  # the user's strategies next to the config, as load_strategy does
    if cwd not in sys.path:
        sys.path.append(cwd)
    try:
        root = importlib.import_module(package)
    except ModuleNotFoundError:
        raise UsageError(f"--strategies all: no {package!r} package to look in") from None
    found: list[str] = []
    for info in sorted(pkgutil.iter_modules(root.__path__), key=lambda i: i.name):
        name = f"{package}.{info.name}"
        try:
            module = importlib.import_module(name)
        except Exception as exc:  # a broken strategy file must say which one
            raise UsageError(f"--strategies all: importing {name} failed: {exc!r}") from exc
        found.extend(
            f"{name}.{attr}"
            for attr, value in sorted(vars(module).items())
            if _defined_strategy(value, name)
        )
    if not found:
        raise UsageError(f"--strategies all: no strategy classes in the {package!r} package")
    return tuple(found)


def _defined_strategy(value: object, module: str) -> bool:
    return (
        isinstance(value, type)
        and issubclass(value, bt.Strategy)
        and value is not bt.Strategy
        and value.__module__ == module
    )


def resolve_strategies(given: tuple[str, ...]) -> tuple[tuple[str, type[bt.Strategy]], ...]:
    """`all` or dotted paths -> (path, class) pairs, duplicates dropped, order kept."""
    if not given:
        raise UsageError("--strategies: give dotted paths or `all`")
    paths: list[str] = []
    for item in given:
        paths.extend(discover_strategies() if item == "all" else (item,))
    return tuple((path, load_strategy(path)) for path in dict.fromkeys(paths))
