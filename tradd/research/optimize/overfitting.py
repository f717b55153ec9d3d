"""Overfitting statistics of an optimization: the Deflated Sharpe Ratio of the best trial
and the Probability of Backtest Overfitting over all trials, from each trial's daily returns.

Where the returns live: a trial user attribute in the Optuna storage, as base64 of
little-endian float32 daily returns. The storage is the only place every cooperating
process can read: trials run in forked workers, possibly on other machines sharing a
PostgreSQL or journal storage, and the process writing the report must see them all. A file
beside the report would exist only on the machine that ran the trial. float32 keeps about 7
significant digits (errors near 1e-9 on a 1% return, far below anything these statistics
resolve) and, with base64, takes 5.3 bytes a day against about 20 as a JSON list: ten years
of daily returns are 13 kB, well inside a text column of any backend. The value records its
encoding and length, so a reader can tell a bad value from a missing one.

Bayesian repeats of a finished combination ("duplicate_of") are the same configuration, not
another trial: they count neither in the number of trials nor as PBO columns.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from optuna.trial import FrozenTrial, TrialState

from tradd.research.metrics import US_DAILY, ReturnBasis, sharpe_ratio
from tradd.research.stats.dsr import DeflatedSharpe, deflated_sharpe_ratio
from tradd.research.stats.pbo import BacktestOverfitting, probability_of_backtest_overfitting
from tradd.research.stats.warnings import overfitting_warnings

RETURNS_ATTR = "daily_returns"
ENCODING = "base64:float32-le"
PBO_BLOCKS = 16

Returns = npt.NDArray[np.float64]


def encode_returns(returns: Returns) -> dict[str, Any]:
    raw = np.asarray(returns, dtype="<f4").tobytes()
    return {"encoding": ENCODING, "days": len(returns), "data": base64.b64encode(raw).decode()}


def decode_returns(value: object) -> Returns:
    """The daily returns stored by `encode_returns`; ValueError says what is wrong."""
    if not isinstance(value, dict) or value.get("encoding") != ENCODING:
        raise ValueError(f"not {ENCODING} daily returns")
    try:
        raw = base64.b64decode(str(value.get("data", "")), validate=True)
    except binascii.Error as exc:
        raise ValueError(f"bad base64: {exc}") from exc
    if len(raw) % 4 or len(raw) // 4 != value.get("days"):
        raise ValueError(f"{len(raw)} bytes do not hold {value.get('days')} float32 days")
    return np.frombuffer(raw, dtype="<f4").astype(np.float64)


@dataclass(frozen=True)
class OverfittingReport:
    deflated_sharpe: DeflatedSharpe | None
    pbo: BacktestOverfitting | None
    warnings: tuple[str, ...]
    notes: tuple[str, ...]
    """Why a statistic is missing."""
    trials: int
    """Distinct configurations that completed (the DSR's number of trials)."""
    best_trial: int | None
    risk_free_rate: float

    def headline(self) -> str:
        """One line for the CLI summary."""
        parts = []
        if (dsr := self.deflated_sharpe) is not None:
            parts.append(
                f"Deflated Sharpe {dsr.dsr:.2f} (best Sharpe {dsr.sharpe:.2f}, luck alone "
                f"{dsr.expected_max_sharpe:.2f} over {dsr.n_trials} "
                f"{'trial' if dsr.n_trials == 1 else 'trials'})"
            )
        if (pbo := self.pbo) is not None:
            parts.append(f"PBO {pbo.pbo:.0%} over {pbo.splits} splits")
        return "overfitting: " + ("; ".join(parts) or "not computed")

    def as_dict(self) -> dict[str, Any]:
        return {
            "deflated_sharpe": self.deflated_sharpe.as_dict() if self.deflated_sharpe else None,
            "pbo": self.pbo.as_dict() if self.pbo else None,
            "warnings": list(self.warnings),
            "notes": list(self.notes),
            "trials": self.trials,
            "best_trial": self.best_trial,
            "returns": "daily, less the risk-free rate",
            "risk_free_rate": self.risk_free_rate,
        }


def assess(
    trials: Sequence[FrozenTrial],
    best_trial: int | None,
    risk_free_rate: float,
    basis: ReturnBasis = US_DAILY,
    screened: tuple[int, float] | None = None,
) -> OverfittingReport:
    """DSR of `best_trial` (a trial number) and PBO over the distinct complete trials.

    `screened`: (combinations, variance of their per-period Sharpe ratios) of a kernel
    screen before these trials: the DSR then deflates by the whole screen, the breadth
    the best was chosen from, not by the few confirmed."""
    distinct = sorted(
        (
            t
            for t in trials
            if t.state == TrialState.COMPLETE and "duplicate_of" not in t.user_attrs
        ),
        key=lambda t: t.number,
    )
    notes: list[str] = []
    returns = _stored_returns(distinct, notes)
    if best_trial is not None:
        chosen = next((t for t in trials if t.number == best_trial), None)
        if chosen is not None:  # a Bayesian repeat stands for the trial it repeats
            best_trial = int(chosen.user_attrs.get("duplicate_of", best_trial))
    dsr = (
        _deflated(returns, best_trial, risk_free_rate, basis, notes, screened) if returns else None
    )
    pbo = _overfitting(returns, basis.period_rate(risk_free_rate), notes) if returns else None
    return OverfittingReport(
        dsr,
        pbo,
        tuple(overfitting_warnings(dsr, pbo)),
        tuple(notes),
        len(distinct),
        best_trial,
        risk_free_rate,
    )


def _stored_returns(distinct: list[FrozenTrial], notes: list[str]) -> dict[int, Returns]:
    """Every distinct trial's returns, or none: statistics over a subset would mislead."""
    if not distinct:
        notes.append("no trial completed: nothing to assess")
        return {}
    found: dict[int, Returns] = {}
    problems = []
    for trial in distinct:
        value = trial.user_attrs.get(RETURNS_ATTR)
        try:
            found[trial.number] = decode_returns(value)
        except ValueError as exc:
            problems.append(f"trial {trial.number}: " + ("none" if value is None else str(exc)))
    if problems:
        notes.append(
            f"no overfitting statistics: {len(problems)} of {len(distinct)} complete trials "
            f"have no usable stored daily returns (run by an older tradd?): "
            + "; ".join(problems[:5])
        )
        return {}
    return found


def _deflated(
    returns: dict[int, Returns],
    best: int | None,
    rf: float,
    basis: ReturnBasis,
    notes: list[str],
    screened: tuple[int, float] | None = None,
) -> DeflatedSharpe | None:
    if best is None or best not in returns:
        notes.append("no Deflated Sharpe: there is no best trial")
        return None
    year = basis.periods_per_year
    per_period = [sharpe_ratio(r, rf, year) / math.sqrt(year) for r in returns.values()]
    variance = float(np.var(per_period, ddof=1)) if len(per_period) > 1 else 0.0
    n_trials = len(returns)
    if screened is not None and screened[0] > n_trials:
        n_trials, variance = screened
        notes.append(f"the Deflated Sharpe counts the {n_trials} combinations screened")
    try:
        return deflated_sharpe_ratio(
            returns[best] - basis.period_rate(rf),
            n_trials=n_trials,
            trial_sharpe_variance=variance,
            periods_per_year=year,
        )
    except ValueError as exc:
        notes.append(f"no Deflated Sharpe for the best trial ({best}): {exc}")
        return None


def _overfitting(
    returns: dict[int, Returns], rf_per_period: float, notes: list[str]
) -> BacktestOverfitting | None:
    lengths = sorted({len(r) for r in returns.values()})
    if len(returns) < 2:
        notes.append("no PBO: it needs at least 2 complete trials to choose between")
        return None
    if len(lengths) > 1:
        notes.append(
            f"no PBO: the trials' daily returns differ in length ({lengths}); did processes "
            f"sharing the study have different data?"
        )
        return None
    matrix = np.column_stack(list(returns.values())) - rf_per_period
    try:
        return probability_of_backtest_overfitting(matrix, blocks=PBO_BLOCKS)
    except ValueError as exc:
        notes.append(f"no PBO: {exc}")
        return None
