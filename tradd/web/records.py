"""The bodies of the console's API: typed records, from which its OpenAPI is generated.

Field names follow the product specification (Phase 8) so that scripts can rely on them.
Requests refuse unknown fields, so a typo is a 422 naming it rather than a default.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

SYMBOL_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9.\-]{0,19}$"
"""The data directory's rule for a symbol (tradd/marketdata/bars.py `normalize_symbol`),
case-insensitive: anything else could never have data, and must be a 422, not a 500."""
MAX_SYMBOLS = 100
MAX_STRATEGIES = 50


def unique_symbols(value: list[str]) -> list[str]:
    """The symbols upper-cased; ValueError naming any given twice (a request's validator)."""
    upper = [s.upper() for s in value]
    repeated = sorted({s for s in upper if upper.count(s) > 1})
    if repeated:
        raise ValueError(f"repeated: {', '.join(repeated)}")
    return upper


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class JobStatusName(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class JobKind(StrEnum):
    SCAN = "scan"
    OPTIMIZE = "optimize"
    WALKFORWARD = "walkforward"
    COMPARE = "compare"


Symbol = Annotated[str, Field(pattern=SYMBOL_PATTERN, description="A ticker, e.g. AAPL")]
StrategyName = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$",
        max_length=200,
        description="A dotted path (strategies.sma_cross.SmaCross) or a class name",
    ),
]


class AnalyzeRequest(Body):
    """`POST /api/v1/optimizer/analyze`: a scan of every strategy on every symbol."""

    symbols: list[Symbol] = Field(min_length=1, max_length=MAX_SYMBOLS)
    start_date: date | None = None
    """Default: a year before `end_date`."""
    end_date: date | None = None
    """Default: the last bar all the symbols have."""
    strategies: list[StrategyName] | None = Field(None, max_length=MAX_STRATEGIES)
    """All the shipped strategies when absent or empty."""
    initial_capital: float = Field(100_000.0, gt=0, le=1e12)
    max_position_pct: float = Field(10.0, gt=0, le=100)

    @field_validator("symbols")
    @classmethod
    def _unique_symbols(cls, value: list[str]) -> list[str]:
        return unique_symbols(value)


class JobAccepted(Body):
    job_id: str
    status: JobStatusName
    kind: JobKind


class JobStatus(Body):
    """`GET /api/v1/optimizer/status/{job_id}`."""

    job_id: str
    kind: JobKind
    owner: str | None
    """None for a run started from the command line."""
    status: JobStatusName
    done: int
    total: int | None
    progress: float
    """0-100."""
    eta_seconds: float | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None
    cache_hits: int | None = None
    queue_position: int | None = None
    """1 = next to start; None once started."""


class StrategyResult(Body):
    strategy: str
    """Dotted path of the strategy class."""
    composite_score: float | None
    rank: int | None
    total_return: float | None
    sharpe: float | None
    max_drawdown: float | None
    win_rate: float | None
    total_trades: int | None
    error: str | None = None
    cached: bool = False


class SymbolResults(Body):
    symbol: str
    best_strategy: str | None
    strategies: list[StrategyResult]


class ScanResults(Body):
    """`GET /api/v1/optimizer/results/{job_id}`."""

    job_id: str
    status: JobStatusName
    period: dict[str, Any] | None
    cache_hits: int | None
    results: list[SymbolResults]


class ExecuteRequest(Body):
    """`POST /api/v1/optimizer/execute`: the rules of `tradd scan --execute`."""

    job_id: str = Field(min_length=1, max_length=64)
    symbols: list[Symbol] | None = Field(None, max_length=MAX_SYMBOLS)
    """All the job's symbols when absent."""
    position_pct: float | None = Field(None, gt=0, le=100)
    """% of the daemon strategy's equity per entry (default: the analysis'
    `max_position_pct`)."""
    allow_stale: bool = False
    """Execute an analysis whose period ended long ago (rehearsals on old data)."""


class RuleResult(Body):
    rule: str
    message: str | None = None
    value: Any = None
    limit: Any = None


class ExecutionOutcome(StrEnum):
    EXECUTED = "executed"
    BLOCKED = "blocked"
    SKIPPED = "skipped"
    FAILED = "failed"


class SymbolExecution(Body):
    symbol: str
    outcome: ExecutionOutcome
    strategy: str | None
    daemon_strategy: str | None = None
    reason: str | None = None
    order_ref: str | None = None
    order_id: str | None = None
    shares: float | None = None
    price: float | None = None
    value: float | None = None
    requested_value: float | None = None
    rules: list[RuleResult] = []
    client_ref: str | None = None
    note: str | None = None


class ExecuteReply(Body):
    job_id: str
    position_pct: float
    results: list[SymbolExecution]


class HistoryPage(Body):
    """`GET /api/v1/optimizer/history`: newest first."""

    jobs: list[JobStatus]
    page: int
    page_size: int
    total: int


class Deleted(Body):
    job_id: str
    deleted: bool
    cancelled: bool


class LoginRequest(Body):
    username: str = Field(min_length=1, max_length=32)
    password: str = Field(min_length=1, max_length=1024)


class Me(Body):
    name: str
    role: str
    csrf_token: str | None
    """Send it as `X-CSRF-Token` with every state-changing request of this session."""


class Problem(Body):
    """Every error: `detail` names the field or the reason; never a stack trace."""

    detail: str
    errors: list[dict[str, Any]] | None = None
