"""The first stage of a two-stage search: every combination (grid) or trial (Bayesian)
through the strategy's kernel, in this process; the best `confirm` go on to Backtrader.

Only the ranking comes from here: the study then holds the chosen combinations as
slots, the pool runs them in Backtrader (each run also checks the kernel against
Backtrader, `tradd.research.kernels.parity`), and every figure reported is Backtrader's.
The screen's returns still count in the Deflated Sharpe: the selection's breadth is
every combination screened, not the few confirmed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna

from tradd.errors import TemporaryError
from tradd.research.engine import StrategySkipped
from tradd.research.kernels.codes import OBJECTIVE_CODES
from tradd.research.kernels.engine import KernelEngine
from tradd.research.metrics import period_ends
from tradd.research.optimize.study import suggest
from tradd.research.optimize.trial import TrialPlan
from tradd.research.params import ParamRange
from tradd.research.pool import Done, Ending, Event, Failed, ForkPool, Reporter
from tradd.strategy_loader import full_params, invalid_reason

DEFAULT_CONFIRM = 20


@dataclass(frozen=True)
class Screened:
    params: dict[str, Any]
    value: float


@dataclass
class ScreenResult:
    """What the screen chose and what it saw (for the report, the DSR and a fallback)."""

    chosen: list[dict[str, Any]]
    screened: int
    seconds: float
    failed: int = 0
    per_period_sharpes: list[float] = field(default_factory=list)
    rest: list[dict[str, Any]] = field(default_factory=list)
    """The slots a fallback to Backtrader adds: the grid's other combinations, or blank
    Bayesian slots up to the requested trials."""
    fallback: str | None = None
    """Why the kernel was found unfaithful on this run (the search then ran in Backtrader)."""

    @property
    def fell_back(self) -> bool:
        return self.fallback is not None

    @property
    def breadth(self) -> tuple[int, float]:
        """(combinations screened, variance of their per-period Sharpe ratios): the
        selection's breadth for the Deflated Sharpe."""
        return self.screened - self.failed, sharpe_variance(self.per_period_sharpes)

    @property
    def report(self) -> dict[str, Any]:
        return {
            "engine": "kernel",
            "screened": self.screened,
            "failed": self.failed,
            "confirmed": len(self.chosen),
            "seconds": round(self.seconds, 3),
            "fallback": self.fallback,
        }


class _Scorer:
    """A kernel run scored in numba (`kernels.score`): the objective `research.metrics`
    would compute, and the per-period Sharpe the Deflated Sharpe needs."""

    def __init__(self, kernel: KernelEngine, plan: TrialPlan) -> None:
        self.kernel, self.plan = kernel, plan
        clock = plan.engine.clock[plan.first :]
        self.ends = np.flatnonzero(period_ends(clock, plan.basis)).astype(np.int64)
        span = (clock[-1] - clock[0]).astype("timedelta64[s]").astype(np.int64) if len(clock) else 0
        self.years = float(span) / 86_400 / 365.25
        year = plan.basis.periods_per_year
        self.rates = (plan.risk_free_rate / year, float(year))
        self.code = OBJECTIVE_CODES[plan.objective]
        self.sharpes: list[float] = []

    def __call__(self, params: Mapping[str, Any]) -> float | None:
        plan = self.plan
        full = full_params(plan.engine.strategy, params)
        if invalid_reason(plan.engine.strategy, full):
            return None
        equity, table = self.kernel.simulate(full)
        equity = equity[plan.first :]
        if len(equity) == 0:
            return None
        closed = table[table[:, 2] >= 0, 7]
        from tradd.research.kernels.score import objective  # numba: only when screening

        rf, year = self.rates
        value, per_period = objective(
            equity, self.ends, np.ascontiguousarray(closed), plan.initial_cash, self.years,
            rf, year, self.code,
        )  # fmt: skip
        self.sharpes.append(per_period)
        return None if math.isnan(value) else float(value)


CHUNK = 1000
"""Combinations per pool unit: a large grid is screened by every worker in parallel."""


def screen_grid(
    kernel: KernelEngine,
    plan: TrialPlan,
    combos: list[dict[str, Any]],
    confirm: int,
    workers: int = 1,
    clock: Callable[[], float] = time.perf_counter,
) -> ScreenResult:
    """Every valid combination through the kernel; the best `confirm` chosen."""
    began = clock()
    scored = _scored_in_pool(kernel, plan, combos, workers)
    found, failures, sharpes = [], [], []
    for params, (value, sharpe) in zip(combos, scored, strict=True):
        if _failed(value):
            failures.append(params)
        elif value is not None:
            found.append(Screened(params, value))
        if sharpe is not None:
            sharpes.append(sharpe)
    # What the kernel could not run goes to Backtrader too: its failure is reported there.
    chosen = _best(found, confirm) + failures
    failed = len(failures)
    keys = {_key(c) for c in chosen}
    rest = [c for c in combos if _key(c) not in keys]
    return ScreenResult(chosen, len(combos), clock() - began, failed, sharpes, rest)


def screen_bayesian(
    kernel: KernelEngine,
    plan: TrialPlan,
    space: list[ParamRange],
    trials: int,
    confirm: int,
    seed: int | None,
    clock: Callable[[], float] = time.perf_counter,
) -> ScreenResult:
    """`trials` TPE trials through the kernel (an in-memory study); the best `confirm`."""
    began = clock()
    scorer = _Scorer(kernel, plan)
    sampler = optuna.samplers.TPESampler(seed=seed)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    found: list[Screened] = []
    failures: list[dict[str, Any]] = []
    for _ in range(trials):
        trial = study.ask()
        params = suggest(trial, space)
        value = _score(scorer, params)
        if value is None or _failed(value):
            if _failed(value) and params not in failures:
                failures.append(params)
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            continue
        study.tell(trial, value)
        found.append(Screened(params, value))
    chosen = _best(found, confirm) + failures
    failed = len(failures)
    rest: list[dict[str, Any]] = [{} for _ in range(max(trials - len(chosen), 0))]
    return ScreenResult(chosen, trials, clock() - began, failed, scorer.sharpes, rest)


FAILED = float("nan")
"""The score of a combination the kernel could not run (Backtrader will say why)."""
Score = tuple[float | None, float | None]
"""(objective value, None when invalid or unscorable, or FAILED; its per-period Sharpe)."""


def _score_chunk(scorer: _Scorer, chunk: list[dict[str, Any]]) -> list[Score]:
    scores: list[Score] = []
    for params in chunk:
        before = len(scorer.sharpes)
        value = _score(scorer, params)
        scores.append((value, scorer.sharpes[-1] if len(scorer.sharpes) > before else None))
    return scores


def _scored_in_pool(
    kernel: KernelEngine, plan: TrialPlan, combos: list[dict[str, Any]], workers: int
) -> list[Score]:
    """Each combination's score, in order; in forked workers when the grid is large."""
    if workers <= 1 or len(combos) <= CHUNK:
        return _score_chunk(_Scorer(kernel, plan), combos)
    chunks = [combos[i : i + CHUNK] for i in range(0, len(combos), CHUNK)]
    results: dict[int, list[Score]] = {}

    def work(_slot: int) -> Callable[[list[dict[str, Any]], Reporter], list[Score]]:
        scorer = _Scorer(kernel, plan)
        return lambda chunk, _reporter: _score_chunk(scorer, chunk)

    def sink(event: Event[list[Score]]) -> None:
        if isinstance(event, Done):
            results[event.index] = event.result
        elif isinstance(event, Failed):
            raise TemporaryError(f"the kernel screen failed: {event.reason}")

    ending = ForkPool(work, min(workers, len(chunks)), noun="chunks").run(chunks, sink)
    if ending is not Ending.FINISHED:
        raise TemporaryError("the kernel screen was interrupted")
    return [score for index in range(len(chunks)) for score in results[index]]


def _failed(value: float | None) -> bool:
    """FAILED survives pickling (a pool's chunk) as a NaN, not as the same object."""
    return value is not None and math.isnan(value)


def _score(scorer: _Scorer, params: dict[str, Any]) -> float | None:
    """The objective; None (invalid, or no value); FAILED when the kernel raised."""
    try:
        return scorer(params)
    except StrategySkipped:
        return None
    except Exception:
        return FAILED


def _best(found: list[Screened], confirm: int) -> list[dict[str, Any]]:
    """The `confirm` best distinct combinations, best first."""
    chosen: list[dict[str, Any]] = []
    seen: set[tuple[tuple[str, Any], ...]] = set()
    for item in sorted(found, key=lambda s: -s.value):
        key = _key(item.params)
        if key in seen:
            continue
        seen.add(key)
        chosen.append(item.params)
        if len(chosen) == confirm:
            break
    return chosen


def _key(params: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted(params.items()))


def sharpe_variance(sharpes: list[float]) -> float:
    clean = [s for s in sharpes if math.isfinite(s)]
    return float(np.var(clean, ddof=1)) if len(clean) > 1 else 0.0
