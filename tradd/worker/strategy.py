"""The user's strategy, made safe to run live: parameters resolved, warm-up bars not traded.

History bars (the warm-up at start, and bars missed while disconnected) pass through the
strategy's indicators exactly as in a backtest, but `next` is not called for them: a
signal on a bar that is hours old is not a signal. The strategy class itself is
unchanged; a subclass made here skips `next` while any feed is delivering history.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import backtrader as bt

from tradd.config.live import StrategySettings
from tradd.errors import ConfigError, StrategyError, TraddError, UsageError
from tradd.strategy_loader import (
    check_param_names,
    full_params,
    invalid_reason,
    load_strategy,
    param_defaults,
)


def resolve_strategy(settings: StrategySettings) -> tuple[type[bt.Strategy], dict[str, Any]]:
    """The strategy class and its full parameter set; ConfigError naming the key if wrong."""
    where = f"strategies.{settings.name}"
    try:
        cls = load_strategy(settings.strategy)
    except UsageError as exc:
        raise ConfigError(f"{where}.strategy: {exc}") from None
    params = {**_params_file(settings.params_file, where), **settings.params}
    try:
        check_param_names(cls, list(params), settings.strategy)
    except UsageError as exc:
        known = param_defaults(cls)
        given = ", ".join(f"{k} = {v!r}" for k, v in params.items() if k not in known)
        raise ConfigError(f"{where}.params: {given}: {exc}") from None
    full = full_params(cls, params)
    reason = invalid_reason(cls, full)
    if reason:
        raise ConfigError(f"{where}.params: invalid combination {full}: {reason}")
    return cls, full


def _params_file(path: Path | None, where: str) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        document = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{where}.params_file: cannot read {path}: {exc}") from None
    params = document.get("params")
    if not isinstance(params, dict):
        raise ConfigError(f"{where}.params_file: {path} has no [params] table")
    return params


def live_strategy(cls: type[bt.Strategy]) -> type[bt.Strategy]:
    """A subclass of `cls` whose next() is skipped while history bars are delivered, and
    whose exceptions become StrategyError: a bug in the strategy halts the strategy, it is
    not mistaken for a failure of the worker (which would be retried)."""

    class Live(cls):  # type: ignore[misc]
        def __init__(self) -> None:
            with _strategy_code(cls, "__init__"):
                super().__init__()

        def next(self) -> None:
            if any(getattr(d, "in_history", False) for d in self.datas):
                return
            with _strategy_code(cls, "next"):
                super().next()

        def notify_order(self, order: Any) -> None:
            with _strategy_code(cls, "notify_order"):
                super().notify_order(order)

        def notify_trade(self, trade: Any) -> None:
            with _strategy_code(cls, "notify_trade"):
                super().notify_trade(trade)

    Live.__name__ = Live.__qualname__ = f"Live{cls.__name__}"
    return Live


@contextmanager
def _strategy_code(cls: type[bt.Strategy], method: str) -> Iterator[None]:
    try:
        yield
    except TraddError:
        raise
    except Exception as exc:
        raise StrategyError(f"{cls.__module__}.{cls.__name__}.{method} raised {exc!r}") from exc
