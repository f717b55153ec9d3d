"""The typed settings tree: one frozen model per component, unknown keys rejected.

Every section is a frozen pydantic model, so a component receives exactly the slice of
configuration it needs and cannot mutate it. Later components (broker, strategies, risk,
alerts, metrics, control, database) add their own section here; `load_settings` in
`tradd.config.loader` stays the one place configuration is read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from tradd import commission_rates as rates
from tradd.config.alerts import AlertSettings
from tradd.config.base import Section
from tradd.config.daemon import ControlSettings, MetricsSettings, SupervisorSettings
from tradd.config.live import (
    BrokerSettings,
    DatabaseSettings,
    StrategySettings,
    WorkerSettings,
    check_unique_strategies,
)
from tradd.config.risk import RiskSettings
from tradd.config.watch import (
    DriftSettings,
    PromotionSettings,
    ScheduleSettings,
    schedule_problems,
)

ENV_PREFIX = "TRADD_"
ENV_NESTED_DELIMITER = "__"

Objective = Literal["sharpe", "returns", "calmar", "composite"]
BarSize = Literal["1mo", "1w", "1d", "1h", "30m", "15m", "5m", "1m"]


class LogSettings(Section):
    dir: Path = Path("logs")
    """JSON log files go here (one file per component)."""
    level: Literal["debug", "info", "warning", "error"] = "info"
    console: bool = True
    """Also write human-readable lines to stderr."""
    repeat_window: float = Field(10.0, ge=0)
    """An identical line (same event, same fields) again within this many seconds is
    dropped and counted; the next one after it says `repeated=N`. 0: log every one."""


class DataSettings(Section):
    dir: Path = Path("data")
    """Where `--symbols X` looks for X's bars: files named `<SYMBOL>.<bar>.csv`."""
    default_bar: BarSize = "1d"
    outlier_sigma: float = Field(8.0, gt=0)
    """`data validate` flags a bar whose return is this many standard deviations out."""
    max_gap_bars: int = Field(3, ge=0)
    """Intraday: a run of more than this many missing bars inside a session's liquid hours
    is reported (0: every missing bar)."""
    missing_sessions_warn: int = Field(0, ge=0)
    """More sessions missing (by the symbol's exchange calendar) than this is a warning."""
    missing_sessions_error_pct: float = Field(5.0, ge=0, le=100)
    """More than this percentage of the expected sessions missing is an error (exit 65)."""


class ForexCommissionSettings(Section):
    """IB's forex (IDEALPRO) schedule: basis points of the trade value, a USD minimum."""

    bps: float = Field(rates.FOREX_BPS, ge=0, le=100)
    minimum: float = Field(rates.FOREX_MIN_USD, ge=0, le=1000)
    """USD per order."""


class FuturesCommissionSettings(Section):
    """Per contract, in the contract's currency."""

    per_contract: float | None = Field(None, ge=0, le=1000)
    """None: IB's fixed rate for the contract's currency (USD 0.85, EUR 1.00, ...)."""
    minimum: float = Field(0.0, ge=0, le=1000)


class CryptoCommissionSettings(Section):
    """IB's crypto schedule: percent of the trade value, a USD minimum (itself at most 1%
    of the trade value)."""

    pct: float = Field(rates.CRYPTO_PCT, ge=0, le=10)
    minimum: float = Field(rates.CRYPTO_MIN_USD, ge=0, le=1000)


class CommissionSettings(Section):
    """Research commissions per asset class (each symbol's contract definition picks one).

    The top-level keys are US stocks (IB fixed: per share, with a minimum and a cap per
    order); `forex`, `futures` and `crypto` are sub-tables."""

    per_share: float = Field(rates.STOCK_PER_SHARE, ge=0)
    minimum: float = Field(rates.STOCK_MIN, ge=0)
    max_pct: float = Field(rates.STOCK_MAX_PCT, ge=0, le=100)
    """Cap as a percentage of the order's value."""
    forex: ForexCommissionSettings = ForexCommissionSettings()
    futures: FuturesCommissionSettings = FuturesCommissionSettings()
    crypto: CryptoCommissionSettings = CryptoCommissionSettings()


class BacktestSettings(Section):
    cash: float = Field(100_000.0, gt=0)
    commission: CommissionSettings = CommissionSettings()
    slippage_pct: float = Field(0.0, ge=0, lt=100)
    position_pct: float = Field(95.0, gt=0, le=100)
    """Share of portfolio value each entry uses (whole shares)."""
    risk_free_rate: float = Field(0.0, ge=-1, le=1)
    """Annual rate subtracted in Sharpe and Sortino."""


class OptimizeSettings(Section):
    workers: int | None = Field(None, ge=1)
    """Worker processes; default: all cores."""
    objective: Objective = "sharpe"
    storage: SecretStr | None = None
    """Optuna storage URL shared by cooperating runs (may hold a password, hence secret)."""
    seed: int | None = None


class RunsSettings(Section):
    """Research runs (`tradd runs`): how a run shows it is still alive, and how long the
    results of its backtests are kept for reuse."""

    lease_interval: float = Field(10.0, ge=0.1, le=3600)
    """Seconds between two renewals of a running run's lease; a run whose lease is three
    intervals old (and whose process cannot be checked on this host) is marked failed."""
    cache_days: int = Field(30, ge=0, le=3650)
    """Days a cached backtest result is kept after its last use (`tradd.research.cache`);
    0 turns the cache off (nothing read, nothing stored)."""


class WebSettings(Section):
    """The web console (`tradd web`): where it listens, its jobs and its sessions."""

    host: str = "127.0.0.1"
    """Loopback unless `--allow-remote` (which then also needs TLS: `tls_cert` and
    `tls_key`, or `tls_proxy = true` stating that a TLS proxy is in front)."""
    port: int = Field(8080, ge=1, le=65535)
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_proxy: bool = False
    max_running_jobs: int = Field(2, ge=1, le=64)
    """Research jobs running at once; the rest wait in the queue."""
    max_jobs_per_user: int = Field(4, ge=1, le=1000)
    """Queued and running jobs one user may have; one more is refused (429)."""
    retention_days: int = Field(30, ge=1, le=3650)
    """Finished jobs are deleted (record and output) this many days after they ended."""
    housekeeping_interval: float = Field(60.0, ge=0.05, le=86400)
    """Seconds between two rounds of housekeeping (retention, dead runs, the cache)."""
    dispatch_interval: float = Field(0.5, ge=0.01, le=60)
    """Seconds between two looks at the queue and the running jobs' processes."""
    session_hours: float = Field(12.0, gt=0, le=24 * 30)
    login_attempts: int = Field(5, ge=1, le=1000)
    """Failed logins per user name and address within `login_window` before refusing."""
    login_window: float = Field(300.0, gt=0, le=86400)
    max_body_bytes: int = Field(65_536, ge=1024, le=16 * 1024 * 1024)
    job_workers: int | None = Field(None, ge=1)
    """Backtest processes per job (default: [optimize] workers, else all cores)."""


class Settings(BaseSettings):
    """The whole configuration. Built by `tradd.config.loader.load_settings`, which merges
    (strongest first) the `TRADD_*` environment, the `.env` file and the TOML file."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=ENV_NESTED_DELIMITER,
        extra="forbid",
        frozen=True,
        env_file=None,
    )

    state_dir: Path = Path("state")
    log: LogSettings = LogSettings()
    data: DataSettings = DataSettings()
    backtest: BacktestSettings = BacktestSettings()
    optimize: OptimizeSettings = OptimizeSettings()
    runs: RunsSettings = RunsSettings()
    broker: BrokerSettings = BrokerSettings()
    database: DatabaseSettings = DatabaseSettings()
    worker: WorkerSettings = WorkerSettings()
    risk: RiskSettings = RiskSettings()
    supervisor: SupervisorSettings = SupervisorSettings()
    control: ControlSettings = ControlSettings()
    metrics: MetricsSettings = MetricsSettings()
    alerts: AlertSettings = AlertSettings()
    web: WebSettings = WebSettings()
    strategies: tuple[StrategySettings, ...] = ()
    schedules: tuple[ScheduleSettings, ...] = ()
    drift: DriftSettings = DriftSettings()
    promotion: PromotionSettings = PromotionSettings()

    @model_validator(mode="after")
    def _strategies_consistent(self) -> Settings:
        check_unique_strategies(self.strategies)
        if self.supervisor.heartbeat_timeout <= self.broker.request_timeout:
            raise ValueError(
                f"supervisor.heartbeat_timeout ({self.supervisor.heartbeat_timeout:g}) must exceed "
                f"broker.request_timeout ({self.broker.request_timeout:g}): a worker waiting on "
                "IB would be killed as hung"
            )
        if self.worker.heartbeat >= self.supervisor.heartbeat_timeout:
            raise ValueError(
                f"worker.heartbeat ({self.worker.heartbeat:g}) must be below "
                f"supervisor.heartbeat_timeout ({self.supervisor.heartbeat_timeout:g}): an idle "
                "worker's loop turns only that often, and one not turning is killed as hung"
            )
        for strategy in self.strategies:
            self.strategy_risk(strategy)  # an invalid override fails at load time
        if problems := schedule_problems(self.schedules, tuple(s.name for s in self.strategies)):
            raise ValueError("; ".join(problems))
        return self

    def strategy(self, name: str) -> StrategySettings:
        """The strategy called `name`; ConfigError-worthy KeyError names the known ones."""
        for strategy in self.strategies:
            if strategy.name == name:
                return strategy
        known = ", ".join(s.name for s in self.strategies) or "none configured"
        raise KeyError(f"no strategy {name!r} in the configuration (known: {known})")

    def strategy_risk(self, strategy: StrategySettings) -> RiskSettings:
        """The global `[risk]` with the strategy's overrides merged in, key by key."""
        merged = self.risk.model_dump()
        for key, value in strategy.risk.items():
            if isinstance(value, dict) and isinstance(merged.get(key), dict):
                merged[key] = {**merged[key], **value}
            else:
                merged[key] = value
        try:
            return RiskSettings(**merged)
        except ValidationError as exc:
            where = f"strategies.{strategy.name}.risk"
            problems = [
                f"{'.'.join([where, *map(str, e['loc'])])}: "
                + str(e["msg"]).removeprefix("Value error, ")
                for e in exc.errors()
            ]
            raise ValueError("; ".join(problems)) from None

    def worker_channel(self, name: str) -> Path:
        """The command socket of strategy `name`'s worker."""
        return (self.worker.channel_dir or self.state_dir / "run") / f"{name}.sock"

    def database_url(self) -> SecretStr:
        """The configured URL, or a SQLite file in the state directory."""
        if self.database.url is not None:
            return self.database.url
        return SecretStr(f"sqlite:///{self.state_dir / 'tradd.db'}")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The loader merges file, `.env` and environment itself (in that order of strength,
        # weakest first) so that the environment it is given, not the process's, applies.
        return (init_settings,)
