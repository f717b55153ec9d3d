"""Rank the runs by Sharpe ratio and test every pair's difference, in plain words too.

A ranking alone invites picking the top line; with a few years of daily data, the top two
are often indistinguishable. Each pair therefore gets the paired t-test on daily returns
and the Sharpe difference test, and a sentence saying what they mean at the 5% level.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

from tradd.research.compare.runner import StrategyRun
from tradd.research.metrics import US_DAILY, ReturnBasis
from tradd.research.stats.significance import (
    SignificanceTest,
    paired_t_test,
    sharpe_difference_test,
)

ALPHA = 0.05


@dataclass(frozen=True)
class PairTest:
    """`first` ranks above `second`; statistics are positive when `first` is better."""

    first: str
    second: str
    mean_difference: float
    """Mean daily return of `first` minus `second`, in percent."""
    paired_t: SignificanceTest
    sharpe: SignificanceTest | None
    sharpe_note: str | None
    """Why the Sharpe test has no result (a strategy with constant daily returns)."""
    reading: str


@dataclass(frozen=True)
class Comparison:
    symbols: tuple[str, ...]
    bar: str
    start: str
    end: str
    initial_cash: float
    risk_free_rate: float
    runs: tuple[StrategyRun, ...]
    """Best Sharpe first; ties keep the command line's order."""
    pairs: tuple[PairTest, ...]
    alpha: float = ALPHA
    basis: ReturnBasis = US_DAILY
    settings: dict[str, Any] = field(default_factory=dict)
    """What shaped every run (`research.run_settings`)."""


def compare(
    runs: list[StrategyRun],
    *,
    symbols: tuple[str, ...],
    bar: str,
    initial_cash: float,
    risk_free_rate: float = 0.0,
    alpha: float = ALPHA,
    basis: ReturnBasis = US_DAILY,
    settings: dict[str, Any] | None = None,
) -> Comparison:
    ranked = sorted(runs, key=lambda r: -r.metrics.sharpe)  # stable: ties keep the order
    daily_rf = basis.period_rate(risk_free_rate)
    pairs = tuple(pair_test(a, b, daily_rf, alpha) for a, b in combinations(ranked, 2))
    clock = ranked[0].clock
    return Comparison(
        symbols,
        bar,
        str(clock[0].astype("datetime64[D]")),
        str(clock[-1].astype("datetime64[D]")),
        initial_cash,
        risk_free_rate,
        tuple(ranked),
        pairs,
        alpha,
        basis,
        dict(settings or {}),
    )


def pair_test(a: StrategyRun, b: StrategyRun, daily_rf: float, alpha: float) -> PairTest:
    """`daily_rf`: the risk-free rate per period of the returns."""
    t = paired_t_test(a.daily, b.daily)
    sharpe: SignificanceTest | None = None
    note = None
    try:  # excess returns: the Sharpe ratios in the table subtract the risk-free rate
        sharpe = sharpe_difference_test(a.daily - daily_rf, b.daily - daily_rf)
    except ValueError as exc:
        note = f"not computed: {exc}"
    first, second = a.contender.label, b.contender.label
    mean_difference = float((a.daily - b.daily).mean() * 100.0)
    return PairTest(
        first,
        second,
        mean_difference,
        t,
        sharpe,
        note,
        reading(first, second, t, sharpe, alpha),
    )


def reading(
    first: str,
    second: str,
    t: SignificanceTest,
    sharpe: SignificanceTest | None,
    alpha: float = ALPHA,
) -> str:
    """What the two tests say together, for someone choosing between the strategies."""
    means = _verdict(first, second, t, alpha, "mean daily return")
    ratios = (
        _verdict(first, second, sharpe, alpha, "Sharpe ratio")
        if sharpe is not None
        else "the Sharpe ratios cannot be tested (constant daily returns)"
    )
    tests = {"paired t-test": t} if sharpe is None else {"paired t-test": t, "Sharpe test": sharpe}
    return f"{_capitalize(means)}; {ratios}. {_conclusion(first, second, tests, alpha)}"


def _conclusion(first: str, second: str, tests: dict[str, SignificanceTest], alpha: float) -> str:
    """One significant test out of the one available (no Sharpe test for a flat strategy) is
    evidence, not disagreement; one of two is mixed; two pointing opposite ways, a conflict."""
    level = f"{alpha:.0%}"
    significant = [name for name, test in tests.items() if test.significant(alpha)]
    winners = {_winner(first, second, tests[name]) for name in significant}
    if not significant:
        return (
            f"At the {level} level the data cannot tell {first} and {second} apart: "
            "the gap between them may be luck."
        )
    if len(winners) > 1:
        return f"Mixed evidence at the {level} level: the two tests point in opposite directions."
    winner = next(iter(winners))
    loser = second if winner == first else first
    if len(significant) == len(tests):
        by = "both tests" if len(tests) == 2 else f"the {significant[0]}"
        return f"{winner} is better than {loser} by {by} at the {level} level."
    return (
        f"Mixed evidence at the {level} level: only the {significant[0]} finds "
        f"{winner} better than {loser}."
    )


def _verdict(first: str, second: str, test: SignificanceTest, alpha: float, quantity: str) -> str:
    p = format_p(test.p_value)
    if test.significant(alpha):
        winner = _winner(first, second, test)
        loser = second if winner == first else first
        return f"{winner} has a higher {quantity} than {loser}, significantly ({p})"
    return f"the {quantity}s do not differ significantly ({p})"


def _winner(first: str, second: str, test: SignificanceTest) -> str:
    return first if test.statistic > 0 else second


def format_p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _capitalize(text: str) -> str:
    """Sentence case, without touching a strategy's name."""
    return "T" + text[1:] if text.startswith("the ") else text
