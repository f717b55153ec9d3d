"""One walk-forward window: optimize on its in-sample bars, then trade the best parameters
out of sample.

In sample, each trial is a backtest over the IS bars only. Grid search runs every valid
combination; Bayesian search runs an in-memory Optuna TPE study (nothing to share or
resume for a window that takes seconds) seeded with `seed + window index`, so runs repeat
exactly and windows do not explore in lockstep. A parameter set proposed twice is not run
twice: the repeat reuses the first result (it still counts as a trial done). The best trial
maximises the objective; ties go to the earliest.

Out of sample, the best parameters run over the IS and OOS bars together, with orders
refused before the OOS start (`BacktestEngine(trade_from=...)`): indicators are warm on
the first OOS bar, the portfolio is flat and holds the starting cash there, and only the
OOS slice of the equity curve is measured. An order created on the last IS bar, which
would fill at the first OOS open, is refused as well (see `RecordingBroker` for why), so
the first possible OOS fill is at the second OOS bar's open.

No bar leaks across the boundary: the IS engine is built on `[is_start, oos_start)` only
(a feed cannot preload what it is not given), the parameters reach the OOS run only
through `best()` over IS trials, and the OOS run's feed ends at the OOS end.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from typing import Any, Literal

import backtrader as bt
import numpy as np
import numpy.typing as npt
import optuna
from optuna.trial import TrialState

from tradd.errors import DataError, StrategyError
from tradd.marketdata.bars import Bars, TimeArray
from tradd.research.broker import BrokerConfig
from tradd.research.costs import CostScheme
from tradd.research.engine import BacktestEngine, RunResult, StrategySkipped, failure_text
from tradd.research.kernels.engine import KernelEngine
from tradd.research.metrics import Metrics, ReturnBasis, period_returns, run_metrics
from tradd.research.optimize.study import suggest
from tradd.research.params import ParamRange
from tradd.research.scoring import objective_value
from tradd.research.walkforward.overfit import WindowOverfitting, window_overfitting
from tradd.research.walkforward.screening import confirm_in_backtrader, counted
from tradd.research.walkforward.windows import Window
from tradd.strategy_loader import full_params, invalid_reason

Method = Literal["grid", "bayesian"]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class WindowPlan:
    """What every window needs; built once in the parent, inherited by forked workers."""

    strategy: type[bt.Strategy]
    bars: tuple[Bars, ...]
    broker: BrokerConfig
    space: tuple[ParamRange, ...]
    method: Method
    objective: str
    trials: int
    """Bayesian: trials per window (grid: the number of slots)."""
    grid_slots: tuple[dict[str, Any], ...] = ()
    seed: int | None = None
    risk_free_rate: float = 0.0
    basis: ReturnBasis = field(default_factory=ReturnBasis)
    costs: Mapping[str, CostScheme] | None = None
    """Each symbol's commission scheme (`LoadedInputs.costs`); None: the defaults."""
    confirm: int = 20
    """With a kernel: the best trials of each window run again in Backtrader."""
    use_kernel: bool = True


@dataclass(frozen=True)
class TrialCounts:
    complete: int = 0
    skipped: int = 0
    failed: int = 0
    repeated: int = 0
    """Bayesian proposals of a parameter set already run (its result was reused)."""
    first_error: str = ""
    screened: int = 0
    """Trials run through the strategy's kernel (walkforward.screening)."""
    confirmed: int = 0
    """Of those, run again in Backtrader (the best, or all after a difference)."""
    fallback: str = ""
    """Why the kernel was not trusted for this window ("" when every check agreed)."""


@dataclass(frozen=True)
class WindowResult:
    window: Window
    best_params: dict[str, Any]
    best_value: float
    is_metrics: Metrics
    oos_metrics: Metrics
    oos_clock: TimeArray
    oos_equity: FloatArray
    """Portfolio value after each OOS bar; the run starts flat with the starting cash."""
    counts: TrialCounts
    trial_returns: FloatArray
    """Daily IS returns, one column per distinct completed parameter set (T x N)."""
    overfitting: WindowOverfitting = field(default_factory=WindowOverfitting)

    @property
    def degradation(self) -> float:
        """IS Sharpe minus OOS Sharpe: how much of the in-sample edge did not carry over."""
        return self.is_metrics.sharpe - self.oos_metrics.sharpe


@dataclass
class _Trial:
    value: float
    metrics: Metrics
    daily: FloatArray


class WindowStopped(Exception):
    """Asked to stop between trials (Ctrl-C)."""


def run_window(
    plan: WindowPlan,
    window: Window,
    on_trial: Callable[[], None],
    should_stop: Callable[[], bool],
) -> WindowResult:
    """Optimize in sample, then measure out of sample. Raises WindowStopped, StrategyError."""
    is_bars = window_bars(plan.bars, window.is_start, window.is_end)
    engine = BacktestEngine(plan.strategy, is_bars, plan.broker, costs=plan.costs)
    # No more trials than confirmations: Backtrader would run every one of them anyway.
    screens = plan.use_kernel and plan.trials > plan.confirm
    search = _Search(plan, engine, KernelEngine.for_engine(engine) if screens else None)
    if plan.method == "grid":
        for params in plan.grid_slots:
            _stop_if(should_stop, window)
            search.evaluate(params)
            on_trial()
    else:
        _bayesian(plan, window, search, on_trial, should_stop)
    search.confirm()
    best = search.best()
    if best is None:
        counts = search.counts
        error = f"; first error: {counts.first_error}" if counts.first_error else ""
        raise StrategyError(
            f"window {window.index} (IS {window.is_start}..{window.is_end}): no trial "
            f"completed ({counts.failed} failed, {counts.skipped} skipped as invalid){error}; "
            f"fix the strategy, or give more --trials or a range with more valid combinations"
        )
    params, trial = best
    oos_clock, oos_equity, oos_metrics = run_oos(plan, window, params)
    returns = search.returns_matrix()
    overfitting = window_overfitting(
        returns,
        plan.basis.period_rate(plan.risk_free_rate),
        best=search.best_column(),
        periods_per_year=plan.basis.periods_per_year,
    )
    return WindowResult(
        window,
        params,
        trial.value,
        trial.metrics,
        oos_metrics,
        oos_clock,
        oos_equity,
        search.counts,
        returns,
        overfitting,
    )


def _stop_if(should_stop: Callable[[], bool], window: Window) -> None:
    if should_stop():
        raise WindowStopped(f"window {window.index} stopped")


def _bayesian(
    plan: WindowPlan,
    window: Window,
    search: _Search,
    on_trial: Callable[[], None],
    should_stop: Callable[[], bool],
) -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    seed = None if plan.seed is None else plan.seed + window.index
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    for _ in range(plan.trials):
        _stop_if(should_stop, window)
        trial = study.ask()
        state, value = search.evaluate(suggest(trial, list(plan.space)))
        if value is not None:
            study.tell(trial, value)
        else:
            study.tell(trial, state=TrialState.PRUNED if state == "skipped" else TrialState.FAIL)
        on_trial()


def run_oos(
    plan: WindowPlan, window: Window, params: dict[str, Any]
) -> tuple[TimeArray, FloatArray, Metrics]:
    """The OOS run: warm-up from the IS start, trading and measuring from the OOS start."""
    start = datetime.combine(window.oos_start, time())
    bars = window_bars(plan.bars, window.is_start, window.oos_end)
    engine = BacktestEngine(plan.strategy, bars, plan.broker, trade_from=start, costs=plan.costs)
    result = engine.run(full_params(plan.strategy, params))
    first = int(np.searchsorted(engine.clock, np.datetime64(start, "s")))
    clock, equity = engine.clock[first:], result.equity[first:]
    return clock, equity, _metrics(plan, result, equity, clock)


def window_bars(bars: Sequence[Bars], first: date, last: date) -> list[Bars]:
    return [b.between(first, last) for b in bars]


def check_coverage(bars: Sequence[Bars], windows: Sequence[Window]) -> None:
    """Every symbol needs bars in every IS and OOS period (a feed cannot be empty)."""
    for window in windows:
        for period, first, last in (
            ("IS", window.is_start, window.is_end),
            ("OOS", window.oos_start, window.oos_end),
        ):
            for b in bars:
                if len(b.between(first, last)) == 0:
                    raise DataError(
                        f"{b.symbol}: no bars in window {window.index}'s {period} period "
                        f"{first}..{last}; the loaded data covers "
                        f"{b.first:%Y-%m-%d}..{b.last:%Y-%m-%d} (try a later --start)"
                    )


def _metrics(plan: WindowPlan, result: RunResult, equity: FloatArray, clock: TimeArray) -> Metrics:
    return run_metrics(
        result, equity, clock, initial_cash=plan.broker.cash, symbols=len(plan.bars),
        risk_free_rate=plan.risk_free_rate, basis=plan.basis,
    )  # fmt: skip


State = Literal["complete", "skipped", "failed"]


class _Search:
    """The trials of one window: runs them, remembers each parameter set's outcome."""

    def __init__(
        self, plan: WindowPlan, engine: BacktestEngine, kernel: KernelEngine | None = None
    ) -> None:
        self.plan = plan
        self.engine = engine
        self.kernel = kernel
        self.counts = TrialCounts()
        self._outcomes: dict[tuple[tuple[str, Any], ...], tuple[State, _Trial | None]] = {}

    def evaluate(self, params: dict[str, Any]) -> tuple[State, float | None]:
        key = tuple(sorted(params.items()))
        known = self._outcomes.get(key)
        if known is not None:
            self.counts = replace(self.counts, repeated=self.counts.repeated + 1)
        else:
            known = self._run(params)
            self._outcomes[key] = known
            state = known[0]
            self.counts = replace(self.counts, **{state: getattr(self.counts, state) + 1})
        state, trial = known
        return state, trial.value if trial is not None else None

    def _run(self, params: dict[str, Any]) -> tuple[State, _Trial | None]:
        strategy = self.plan.strategy
        full = full_params(strategy, params)
        if invalid_reason(strategy, full):
            return "skipped", None
        try:
            result = (self.kernel or self.engine).run(full)
        except StrategySkipped:
            return "skipped", None
        except Exception as exc:  # a strategy bug fails this trial, not the walk-forward
            if not self.counts.first_error:
                error = f"{params}: {failure_text(exc)}"
                self.counts = replace(self.counts, first_error=error)
            return "failed", None
        return "complete", self._trial(result)

    def _trial(self, result: RunResult) -> _Trial:
        clock = self.engine.clock
        metrics = _metrics(self.plan, result, result.equity, clock)
        value = objective_value(metrics.as_dict(), self.plan.objective)
        daily = period_returns(result.equity, clock, self.plan.broker.cash, self.plan.basis)
        return _Trial(value, metrics, daily)

    def confirm(self) -> None:
        """With a kernel: its best trials (all, after a difference) again in Backtrader."""
        if self.kernel is None:
            return
        screened = self.counts.complete
        kernel, self.kernel = self.kernel, None
        confirmed, fallback, raised = confirm_in_backtrader(
            self._outcomes, lambda trial: trial.value, self._trial, self.engine,  # type: ignore[arg-type]
            kernel, self.plan.confirm,
        )  # fmt: skip
        if raised:
            confirmed = self._rerun_in_backtrader()
        self.counts = counted(self.counts, screened, confirmed, fallback)

    def _rerun_in_backtrader(self) -> int:
        """The whole search again, every parameter set it tried, in Backtrader."""
        tried = list(self._outcomes)
        self._outcomes, self.counts = {}, TrialCounts()
        for key in tried:
            self.evaluate(dict(key))
        return len(tried)

    def _complete(self) -> list[tuple[dict[str, Any], _Trial]]:
        return [(dict(k), t) for k, (_, t) in self._outcomes.items() if t is not None]

    def best(self) -> tuple[dict[str, Any], _Trial] | None:
        """Highest objective; ties go to the earliest trial (max keeps the first)."""
        done = self._complete()
        if not done:
            return None
        params, trial = max(done, key=lambda item: item[1].value)
        names = [r.name for r in self.plan.space]
        return {n: params[n] for n in names if n in params}, trial

    def best_column(self) -> int | None:
        """The best trial's column in `returns_matrix` (the same order, the same tie rule)."""
        done = self._complete()
        if not done:
            return None
        values = [t.value for _, t in done]
        return values.index(max(values))

    def returns_matrix(self) -> FloatArray:
        done = self._complete()
        if not done:
            return np.zeros((len(self.engine.clock), 0))
        return np.column_stack([t.daily for _, t in done])
