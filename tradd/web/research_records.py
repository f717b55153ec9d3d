"""The bodies of `/api/v1/jobs`: optimize, walk-forward and compare jobs, their status
stream and their results. Typed records, like `tradd.web.records`, from which the OpenAPI is made.

A request mirrors the options of `tradd optimize` / `tradd walkforward`, and its `params`
are the ranges of a params file (`[params]` in TOML): per parameter a string in the
CLI's syntax (`"5:50:5"` inclusive of the stop, `"a,b,c"`, `"7"`) or an array of values.
The strategy's own defaults give each parameter its type, so `fast = "5:50:5"` is an int
range and `fast = "7.5"` a 422 naming `params.fast`.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, field_validator

from tradd.web.records import (
    Body,
    JobKind,
    JobStatusName,
    StrategyName,
    Symbol,
    unique_symbols,
)

MAX_RESEARCH_SYMBOLS = 20
MAX_PARAMS = 20
MAX_TRIALS = 10_000
"""Bayesian trials per job (per window for a walk-forward); a grid's combinations too."""

ParamName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")]
ParamValue = Annotated[str, StringConstraints(max_length=64)] | int | float | bool
ParamSpec = (
    Annotated[str, StringConstraints(min_length=1, max_length=200)]
    | int
    | float
    | bool
    | (Annotated[list[ParamValue], Field(min_length=1, max_length=1000)])
)
Method = Literal["grid", "bayesian"]
Objective = Literal["sharpe", "returns", "calmar", "composite"]
"""As `tradd.research.scoring.OBJECTIVES`."""


class ResearchJobRequest(Body):
    """What an optimize and a walk-forward job share."""

    strategy: StrategyName
    symbols: list[Symbol] = Field(min_length=1, max_length=MAX_RESEARCH_SYMBOLS)
    start_date: date | None = None
    """Default: the data's first day (a walk-forward: the first day every symbol has)."""
    end_date: date | None = None
    """Default: the data's last day."""
    params: dict[ParamName, ParamSpec] = Field(min_length=1, max_length=MAX_PARAMS)
    """Ranges per parameter, as in a params file; at least one must vary."""
    method: Method = "grid"
    objective: Objective | None = None
    """Default: the config's `[optimize] objective`."""
    initial_capital: float | None = Field(None, gt=0, le=1e12)
    """Default: the config's `[backtest] cash`."""
    seed: int | None = Field(None, ge=0, le=2**31 - 1)

    @field_validator("symbols")
    @classmethod
    def _unique_symbols(cls, value: list[str]) -> list[str]:
        return unique_symbols(value)

    @field_validator("params")
    @classmethod
    def _plain_choices(cls, value: dict[str, Any]) -> dict[str, Any]:
        """An array's strings are taken as they are: a comma or colon would be read as a
        list or a range on the command line."""
        for name, spec in value.items():
            if isinstance(spec, list) and any(
                isinstance(v, str) and ("," in v or ":" in v or not v.strip()) for v in spec
            ):
                raise ValueError(f"{name}: array values must not be empty or contain ',' or ':'")
        return value


class OptimizeJobRequest(ResearchJobRequest):
    """`POST /api/v1/jobs/optimize`: as `tradd optimize`."""

    trials: int = Field(100, ge=1, le=MAX_TRIALS)
    """Bayesian: trials in the study (a grid runs every valid combination)."""


class WalkForwardJobRequest(ResearchJobRequest):
    """`POST /api/v1/jobs/walkforward`: as `tradd walkforward`."""

    trials: int = Field(50, ge=1, le=MAX_TRIALS)
    """Bayesian: trials per window."""
    is_months: int = Field(12, ge=1, le=240)
    """In-sample (optimization) months per window."""
    oos_months: int = Field(6, ge=1, le=120)
    """Out-of-sample months; the windows step by this."""
    mode: Literal["rolling", "anchored"] = "rolling"


MAX_COMPARE_STRATEGIES = 20
CompareParams = dict[ParamName, ParamValue]


class CompareJobRequest(Body):
    """`POST /api/v1/jobs/compare`: as `tradd compare`: several strategies on the same
    bars, ranked by Sharpe, every pair tested; the HTML report (no PDF: that needs
    Chromium where the console runs)."""

    strategies: list[StrategyName] = Field(min_length=2, max_length=MAX_COMPARE_STRATEGIES)
    """Dotted paths, at least two; one may repeat (compared with other parameters)."""
    symbols: list[Symbol] = Field(min_length=1, max_length=MAX_RESEARCH_SYMBOLS)
    start_date: date | None = None
    """Default: the data's first day."""
    end_date: date | None = None
    """Default: the data's last day."""
    params: list[CompareParams | None] = Field(
        default_factory=list, max_length=MAX_COMPARE_STRATEGIES
    )
    """Fixed parameters per strategy, in order (`--params-from`, as a params file's
    `[params]` table); fewer entries than strategies, or null: the rest use defaults."""
    initial_capital: float | None = Field(None, gt=0, le=1e12)
    """Default: the config's `[backtest] cash`."""
    warmup: int | None = Field(None, ge=0, le=100_000)
    """Bars before `start_date` fed to warm the indicators up; default: as many as each
    strategy needs (`--warmup auto`)."""

    @field_validator("symbols")
    @classmethod
    def _unique_symbols(cls, value: list[str]) -> list[str]:
        return unique_symbols(value)


class CompareRow(Body):
    """One strategy of a comparison, best Sharpe first: the CLI report's table row."""

    rank: int
    label: str
    strategy: str
    params: dict[str, Any]
    params_from: str | None = None
    metrics: dict[str, Any]


class ComparisonView(Body):
    """What `tradd compare` reported (`comparison.json`), and each strategy's equity."""

    ranked_by: str
    days: int | None
    initial_cash: float | None
    strategies: list[CompareRow]
    tests: list[dict[str, Any]]
    """Per pair: `first`, `second`, the paired t-test and Sharpe difference test (p
    values, significant at `alpha`) and `reading`, what they mean in plain words."""
    alpha: float | None = None
    equity: dict[str, list[Any]] | None = None
    """`time` (epoch seconds of each period's close) and one list per strategy label: the
    equity at each close (the initial cash compounded by the period returns the command
    wrote in `comparison.returns.csv`, the returns its Sharpe uses)."""


class StrategyParam(Body):
    name: str
    default: Any
    type: str


class StrategyInfo(Body):
    strategy: str
    params: list[StrategyParam]


class LeaderRow(Body):
    rank: int
    trial: int | None = None
    params: dict[str, Any]
    objective: float | None
    metrics: dict[str, Any] = Field(default_factory=dict)


class Leaderboard(Body):
    """The best so far of a running job (`leaderboard.json`), or of a finished one."""

    job_id: str
    objective: str | None
    counts: dict[str, int]
    top: list[LeaderRow]
    windows: list[dict[str, Any]]
    """Finished walk-forward windows: dates, best parameters, IS and OOS figures."""


class Heatmap(Body):
    """The objective over two parameters (the best trial of each cell when others vary)."""

    x: str
    y: str
    x_values: list[Any]
    y_values: list[Any]
    cells: list[list[float | None]]
    """`cells[row][column]`: row = y value, column = x value; None where nothing ran."""


class Overfitting(Body):
    """The overfitting figures and the warnings that say in plain words what they mean."""

    figures: dict[str, Any]
    warnings: list[str]
    notes: list[str]


class ResearchResults(Body):
    """`GET /api/v1/jobs/{job_id}/results`: empty but for `status` until the job ends."""

    job_id: str
    kind: JobKind
    status: JobStatusName
    strategy: str | None = None
    objective: str | None = None
    method: str | None = None
    symbols: list[str] = Field(default_factory=list)
    start: str | None = None
    end: str | None = None
    best_params: dict[str, Any] | None = None
    best_value: float | None = None
    best_metrics: dict[str, Any] | None = None
    leaderboard: list[LeaderRow] = Field(default_factory=list)
    counts: dict[str, Any] = Field(default_factory=dict)
    param_space: dict[str, list[Any]] = Field(default_factory=dict)
    varying: list[str] = Field(default_factory=list)
    """The parameters that took more than one value (the heatmap's choices)."""
    heatmap: Heatmap | None = None
    windows: list[dict[str, Any]] = Field(default_factory=list)
    """Walk-forward: one entry per window (dates, best params, IS/OOS figures)."""
    is_vs_oos: dict[str, list[Any]] | None = None
    """Walk-forward: `window`, `label`, `is_sharpe`, `oos_sharpe`, `degradation`."""
    oos_equity: dict[str, list[Any]] | None = None
    """Walk-forward: the stitched OOS equity, `time` (epoch seconds) and `equity`."""
    summary: dict[str, Any] | None = None
    overfitting: Overfitting | None = None
    comparison: ComparisonView | None = None
    """Compare jobs: the ranked strategies, the pair tests and the equity curves."""
    downloads: list[str] = Field(default_factory=list)
    """The names `GET /api/v1/jobs/{job_id}/download/{name}` serves for this job."""
    note: str | None = None
