"""Plain-language warnings from the overfitting statistics, for people who will not look up
what a PBO or a DSR is.

Thresholds (each chosen to match how the papers read their numbers):
- PBO > 0.5: the in-sample best ranked at or below the median out of sample (logit <= 0)
  more often than not, so the selection is no better than picking at random: "probably
  overfit".
- 0.2 < PBO <= 0.5: a milder caution; a genuine edge usually stays well below 0.2.
- Probability of loss > 0.5: in most splits the in-sample best lost money out of sample.
- DSR < 0.95: the best Sharpe is not significant at the 5% level once the number of trials
  is accounted for (the paper's own rejection level).
- PSR < 0.95 (returns not selected as a best of N, e.g. a walk-forward's stitched OOS): the
  Sharpe is not significantly above zero at the 5% level.
"""

from __future__ import annotations

from collections.abc import Sequence

from tradd.research.stats.dsr import DeflatedSharpe, ProbabilisticSharpe
from tradd.research.stats.pbo import BacktestOverfitting

PBO_OVERFIT = 0.5
PBO_CAUTION = 0.2
LOSS_LIKELY = 0.5
DSR_SIGNIFICANT = 0.95


def overfitting_warnings(dsr: DeflatedSharpe | None, pbo: BacktestOverfitting | None) -> list[str]:
    """The warnings that apply, most serious first; empty when nothing is alarming."""
    messages = _pbo_warnings(pbo) if pbo is not None else []
    if dsr is not None and dsr.dsr < DSR_SIGNIFICANT:
        messages.append(_dsr_warning(dsr))
    return messages


def _pbo_warnings(pbo: BacktestOverfitting) -> list[str]:
    share = f"{pbo.pbo:.0%}"
    messages = []
    if pbo.pbo > PBO_OVERFIT:
        messages.append(
            f"PBO {share}: the best in-sample parameters ranked at or below the median out "
            f"of sample in {share} of splits; these results are probably overfit."
        )
    elif pbo.pbo > PBO_CAUTION:
        messages.append(
            f"PBO {share}: the best in-sample parameters fell to or below the median out of "
            f"sample in {share} of splits; treat these results with caution and validate "
            f"them out of sample."
        )
    if pbo.probability_of_loss > LOSS_LIKELY:
        messages.append(
            f"The best in-sample parameters lost money out of sample in "
            f"{pbo.probability_of_loss:.0%} of splits."
        )
    return messages


def _dsr_warning(dsr: DeflatedSharpe) -> str:
    head = f"Deflated Sharpe {dsr.dsr:.2f}:"
    if dsr.n_trials == 1:
        return (
            f"{head} the Sharpe ({dsr.sharpe:.2f}) over {dsr.observations} periods is not "
            f"reliably above zero."
        )
    return (
        f"{head} after {dsr.n_trials} trials the best Sharpe ({dsr.sharpe:.2f}) is not "
        f"reliably above what luck alone gives ({dsr.expected_max_sharpe:.2f})."
    )


def psr_warning(psr: ProbabilisticSharpe) -> str | None:
    """For a walk-forward's stitched OOS returns: nothing was selected, so no deflation."""
    if psr.psr >= DSR_SIGNIFICANT:
        return None
    return (
        f"OOS PSR {psr.psr:.2f}: OOS Sharpe not reliably above zero (Sharpe {psr.sharpe:.2f} "
        f"over {psr.observations} periods)."
    )


def window_dsr_warning(windows: Sequence[tuple[int, DeflatedSharpe]]) -> str | None:
    """For a walk-forward's IS searches, where each window picked the best of its trials:
    one line for all windows below the level (one per window would bury the others)."""
    weak = [(k, d) for k, d in windows if d.dsr < DSR_SIGNIFICANT]
    if not weak:
        return None
    if len(weak) == 1:
        k, d = weak[0]
        return (
            f"window {k}: IS best not reliably better than luck (DSR {d.dsr:.2f}: Sharpe "
            f"{d.sharpe:.2f} after {d.n_trials} trials, luck alone {d.expected_max_sharpe:.2f})."
        )
    numbers = ", ".join(str(k) for k, _ in weak)
    values = ", ".join(f"{d.dsr:.2f}" for _, d in weak)
    return (
        f"windows {numbers} ({len(weak)} of {len(windows)}): IS best not reliably better than "
        f"luck (DSR {values}; each below {DSR_SIGNIFICANT})."
    )
