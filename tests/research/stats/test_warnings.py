"""Plain-language overfitting warnings and their thresholds."""

from __future__ import annotations

from tradd.research.stats.dsr import DeflatedSharpe
from tradd.research.stats.pbo import BacktestOverfitting
from tradd.research.stats.warnings import overfitting_warnings


def pbo(value: float, loss: float = 0.0) -> BacktestOverfitting:
    return BacktestOverfitting(value, 70, 8, (0.0,), loss, -0.5)


def dsr(value: float, trials: int = 100) -> DeflatedSharpe:
    return DeflatedSharpe(1.2, 0.9, trials, 750, -0.2, 4.0, value)


def test_nothing_to_say() -> None:
    assert overfitting_warnings(None, None) == []
    assert overfitting_warnings(dsr(0.97), pbo(0.1)) == []
    assert overfitting_warnings(dsr(0.95), pbo(0.2)) == []  # thresholds are strict


def test_high_pbo_says_probably_overfit() -> None:
    assert overfitting_warnings(None, pbo(0.62)) == [
        "PBO 62%: the best in-sample parameters ranked at or below the median out of sample "
        "in 62% of splits; these results are probably overfit."
    ]


def test_moderate_pbo_is_a_caution() -> None:
    (message,) = overfitting_warnings(None, pbo(0.35))
    assert message.startswith("PBO 35%:") and "caution" in message
    assert "probably overfit" not in message


def test_likely_losses_out_of_sample() -> None:
    messages = overfitting_warnings(None, pbo(0.7, loss=0.6))
    assert len(messages) == 2
    assert messages[1] == "The best in-sample parameters lost money out of sample in 60% of splits."


def test_low_deflated_sharpe() -> None:
    assert overfitting_warnings(dsr(0.41), None) == [
        "Deflated Sharpe 0.41: after 100 trials the best Sharpe (1.20) is not reliably above "
        "what luck alone gives (0.90)."
    ]


def test_one_trial_compares_with_zero() -> None:
    (message,) = overfitting_warnings(dsr(0.8, trials=1), None)
    assert message == (
        "Deflated Sharpe 0.80: the Sharpe (1.20) over 750 periods is not reliably above zero."
    )


def test_pbo_comes_before_dsr() -> None:
    messages = overfitting_warnings(dsr(0.5), pbo(0.8))
    assert messages[0].startswith("PBO 80%") and messages[1].startswith("Deflated Sharpe 0.50")
