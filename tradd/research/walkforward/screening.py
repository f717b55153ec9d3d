"""A window's in-sample search through the strategy's kernel, confirmed in Backtrader.

With a kernel, every in-sample trial of a window runs through it (`KernelEngine`); then
the best `confirm` trials run again in Backtrader, each compared with its kernel run
(`tradd.research.kernels.parity`), and Backtrader's result replaces the kernel's. One
difference and the kernel is not trusted for the window: every other trial is run again
in Backtrader too. So the best parameters, their in-sample figures and the out-of-sample
run (always Backtrader) are Backtrader's; the other trials' returns, which feed the
window's PBO, are the kernel's only when every confirmation agreed with Backtrader.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from tradd.research.engine import BacktestEngine, RunResult, failure_text
from tradd.research.kernels.engine import KernelEngine
from tradd.research.kernels.parity import mismatch
from tradd.strategy_loader import full_params

Outcome = tuple[str, Any]
"""(state, trial or None), as `_Search` keeps them."""


def confirm_in_backtrader(
    outcomes: dict[tuple[tuple[str, Any], ...], Outcome],
    value_of: Callable[[Any], float],
    trial_of: Callable[[RunResult], Any],
    engine: BacktestEngine,
    kernel: KernelEngine,
    confirm: int,
) -> tuple[int, str, bool]:
    """Replace the best `confirm` kernel trials of `outcomes` by Backtrader's (all of them
    after a difference). Returns (trials run in Backtrader, why the kernel was not
    trusted or "", whether Backtrader raised: the caller then reruns the whole search,
    failures and all, in Backtrader)."""
    complete = [(key, out) for key, out in outcomes.items() if out[1] is not None]
    ranked = sorted(complete, key=lambda item: -value_of(item[1][1]))
    fallback = ""
    confirmed = 0
    for n, (key, (state, _trial)) in enumerate(ranked):
        if n >= confirm and not fallback:
            break
        params = full_params(engine.strategy, dict(key))
        try:
            result = engine.run(params)
        except Exception as exc:
            return confirmed, f"{dict(key)}: Backtrader failed: {failure_text(exc)}", True
        if not fallback:
            differs = mismatch(result, kernel.run(params))
            if differs:
                fallback = f"{dict(key)}: {differs}"
        outcomes[key] = (state, trial_of(result))
        confirmed += 1
    return confirmed, fallback, False


def counted(counts: Any, screened: int, confirmed: int, fallback: str) -> Any:
    """The window's TrialCounts with its screen recorded."""
    return replace(counts, screened=screened, confirmed=confirmed, fallback=fallback)
