"""Proposals from research runs: `tradd optimize|walkforward --propose-for STRATEGY`.

After the run, the best parameters become a proposal for the live strategy STRATEGY,
with the run's evidence and each `[promotion]` gate's verdict (docs/promotion.md). The
figures are the ones the run already computed and reported; nothing is re-estimated:

- walk-forward: the parameters of the LAST window (the most recent in-sample search, what
  would be traded next); OOS Sharpe and PSR of the stitched OOS returns; Pardo's
  efficiency; the mean PBO of the windows; stability = the lowest share of windows that
  chose a parameter's most common value.
- optimize: the best trial's parameters; PBO over the trials (CSCV). An optimize has no
  out-of-sample period, so OOS Sharpe, OOS PSR, efficiency and stability are None: a gate
  on them cannot pass (switch it off in `[promotion]`, or propose from a walk-forward).

The target is checked before the run (a configuration error, exit 78, names the key): it
must be a `[[strategies]]` entry running the same class, with a `params_file` (what an
applied proposal rewrites).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tradd.config.live import StrategySettings
from tradd.config.settings import Settings
from tradd.config.watch import PromotionSettings
from tradd.errors import ConfigError, UsageError
from tradd.records.proposals import Evidence, GateResult, Proposal
from tradd.research.optimize.report import Summary
from tradd.research.walkforward.runner import WalkForwardResult
from tradd.strategy_loader import load_strategy

GATES: tuple[tuple[str, str, bool], ...] = (
    ("max_pbo", "pbo", False),
    ("min_oos_psr", "oos_psr", True),
    ("min_efficiency", "efficiency", True),
    ("min_stability", "stability", True),
)
"""(setting, evidence field, at least?): a `min_` gate passes at or above its limit, a
`max_` gate at or below it; a figure the run could not measure (None) fails."""


def check_target(settings: Settings, name: str, strategy_path: str) -> StrategySettings:
    """The live strategy a proposal is for; ConfigError (exit 78) naming the key if the
    proposal could never be applied to it."""
    try:
        target = settings.strategy(name)
    except KeyError as exc:
        raise ConfigError(f"--propose-for {name}: strategies: {exc.args[0]}") from None
    where = f"strategies.{name}"
    if _class_name(target.strategy) != _class_name(strategy_path):
        raise ConfigError(f"--propose-for {name}: {where}.strategy is {target.strategy!r}, "
                          f"not the class this run optimizes ({strategy_path!r})")  # fmt: skip
    if target.params_file is None:
        raise ConfigError(f"--propose-for {name}: {where}.params_file is not set: an applied "
                          "proposal writes a new version of that file")  # fmt: skip
    return target


def _class_name(path: str) -> str:
    """The class's module and name (a file path and an import path of one class agree)."""
    try:
        cls = load_strategy(path)
    except UsageError:
        return path
    return f"{cls.__module__}.{cls.__qualname__}"


def optimize_evidence(summary: Summary, output: Path) -> tuple[dict[str, Any], Evidence]:
    """The best trial's parameters and what the optimization measured for them."""
    if not summary.ranked:
        raise ValueError("no trial completed: nothing to propose")
    best = summary.ranked[0]
    report = summary.overfitting
    pbo = report.pbo.pbo if report is not None and report.pbo is not None else None
    dsr = report.deflated_sharpe if report is not None else None
    evidence = Evidence(
        oos_sharpe=None, oos_psr=None, efficiency=None, pbo=pbo, stability=None,
        in_sample_sharpe=_number(best.metrics.get("sharpe")),
        deflated_sharpe=dsr.dsr if dsr is not None else None,
        period_from=summary.start, period_to=summary.end, symbols=tuple(summary.symbols),
        output=str(output),
    )  # fmt: skip
    return dict(best.params), evidence


def walkforward_evidence(
    result: WalkForwardResult, symbols: Sequence[str], output: Path
) -> tuple[dict[str, Any], Evidence]:
    """The last window's parameters and the walk-forward's summary figures."""
    summary = result.summary
    if summary is None or not result.results:
        raise ValueError("no window finished: nothing to propose")
    last = result.results[-1]
    varying = {r.name for r in result.space if len(r.values) > 1}
    shares = [s.most_common_share for n, s in summary.parameter_stability.items()
              if n in varying and s.most_common_share is not None]  # fmt: skip
    psr = summary.overfitting.get("oos_psr")
    evidence = Evidence(
        oos_sharpe=_number(summary.oos_sharpe),
        oos_psr=_number(psr.get("psr")) if isinstance(psr, dict) else None,
        efficiency=_number(summary.walk_forward_efficiency),
        pbo=_number(summary.overfitting.get("pbo_mean")),
        stability=min(shares) if shares else (1.0 if summary.windows else None),
        in_sample_sharpe=_number(summary.avg_is_sharpe),
        period_from=result.results[0].window.is_start.isoformat(),
        period_to=last.window.oos_end.isoformat(), symbols=tuple(symbols), output=str(output),
    )  # fmt: skip
    return dict(last.best_params), evidence


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def evaluate_gates(gates: PromotionSettings, evidence: Evidence) -> tuple[GateResult, ...]:
    """Each configured gate (a None limit is not checked) against the evidence."""
    results = []
    for setting, field, at_least in GATES:
        limit = getattr(gates, setting)
        if limit is None:
            continue
        value = getattr(evidence, field)
        passed = value is not None and (value >= limit if at_least else value <= limit)
        results.append(GateResult(name=setting, value=value, limit=float(limit), passed=passed))
    return tuple(results)


def store_proposal(
    settings: Settings,
    target: StrategySettings,
    kind: str,
    params: Mapping[str, Any],
    evidence: Evidence,
    run_id: str | None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Proposal:
    """Gate the evidence and store the proposal in the daemon's database."""
    from tradd.persistence.db import open_database
    from tradd.persistence.proposals import Proposals

    engine, sessions = open_database(settings.database_url())
    try:
        gates = evaluate_gates(settings.promotion, evidence)
        return Proposals(sessions, clock).add(
            target.name, kind, target.strategy, params, evidence, gates, run_id
        )
    finally:
        engine.dispose()


def proposal_line(proposal: Proposal) -> str:
    """The line the command prints about the proposal it stored."""
    verdict = (
        "passes its gates"
        if proposal.passed
        else "FAILS "
        + ", ".join(f"{g.name} ({_shown(g.value)} vs {g.limit:g})" for g in proposal.failed_gates())
    )
    return (f"proposal {proposal.id} for {proposal.strategy}: {proposal.params}; {verdict} "
            f"(tradctl proposals show {proposal.id})")  # fmt: skip


def _shown(value: float | None) -> str:
    return "not measured" if value is None else f"{value:.3g}"
