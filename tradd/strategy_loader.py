"""Find a strategy class by dotted path and describe its parameters.

Shared by research commands and the live worker, so both accept the same names.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import backtrader as bt

from tradd.errors import UsageError


def load_strategy(path: str) -> type[bt.Strategy]:
    """`strategies.sma_cross.SmaCross` -> the class. Errors name exactly what is missing."""
    module_name, _, class_name = path.rpartition(".")
    if not module_name or not class_name:
        raise UsageError(f"strategy {path!r}: expected a dotted path like package.module.Class")
    _ensure_cwd_importable()
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise UsageError(f"strategy {path!r}: module {exc.name!r} not found") from None
    except Exception as exc:  # a strategy file with a bug must not look like a tradd crash
        raise UsageError(f"strategy {path!r}: importing {module_name} failed: {exc!r}") from exc
    cls = getattr(module, class_name, None)
    if cls is None:
        found = sorted(
            n for n, v in vars(module).items() if _is_strategy(v) and v.__module__ == module_name
        )
        hint = f"; strategies there: {', '.join(found)}" if found else ""
        raise UsageError(f"strategy {path!r}: {module_name} has no {class_name!r}{hint}")
    if not _is_strategy(cls):
        raise UsageError(f"strategy {path!r}: not a backtrader.Strategy subclass")
    return cls  # type: ignore[no-any-return]


def _is_strategy(value: object) -> bool:
    return isinstance(value, type) and issubclass(value, bt.Strategy) and value is not bt.Strategy


def _ensure_cwd_importable() -> None:
    # User strategies live next to the config, like `python -m` would find them.
    cwd = str(Path.cwd())
    if cwd not in sys.path:
        sys.path.append(cwd)


def param_defaults(cls: type[bt.Strategy]) -> dict[str, Any]:
    """The strategy's parameters and their defaults, in declaration order."""
    return dict(cls.params._getitems())


def invalid_reason(cls: type[bt.Strategy], params: Mapping[str, Any]) -> str | None:
    """Why a full parameter set is invalid for this strategy (None if fine or undeclared)."""
    check = getattr(cls, "invalid_params", None)
    return check(params) if check is not None else None


def check_param_names(cls: type[bt.Strategy], names: list[str] | set[str], path: str) -> None:
    known = param_defaults(cls)
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise UsageError(
            f"strategy {path} has no parameter {', '.join(map(repr, unknown))}; "
            f"its parameters are {', '.join(known) or 'none'}"
        )


def full_params(cls: type[bt.Strategy], overrides: Mapping[str, Any]) -> dict[str, Any]:
    return {**param_defaults(cls), **overrides}
