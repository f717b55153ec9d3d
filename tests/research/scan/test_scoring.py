"""The composite score of a scan row is the spec's formula, and ranks are per symbol."""

from __future__ import annotations

import pytest

from tradd.research.scan.rows import ScanRow, best_by_symbol, rank_rows, row_from_metrics
from tradd.research.scoring import composite_score


def metrics(ret: float, sharpe: float, dd: float, win: float, trades: int) -> dict[str, float]:
    return {"total_return": ret, "sharpe": sharpe, "max_drawdown": dd, "win_rate": win,
            "total_trades": trades}  # fmt: skip


def spec(ret: float, sharpe: float, dd: float, win: float, trades: float) -> float:
    """The issue's formula, typed in again: returns, drawdown and win rate in percent."""
    return (min(ret / 100, 1) * 30 + min(sharpe / 2, 1) * 30 + max(0, 1 - dd / 50) * 20
            + (win / 100) * 15 + min(trades / 10, 1) * 5)  # fmt: skip


@pytest.mark.parametrize(
    ("values", "by_hand"),
    [
        # 25/100*30 + 1.5/2*30 + (1-10/50)*20 + 60/100*15 + 4/10*5
        ((25.0, 1.5, 10.0, 60.0, 4), 7.5 + 22.5 + 16.0 + 9.0 + 2.0),
        # every term at its cap: 30 + 30 + 20 + 15 + 5
        ((250.0, 5.0, 0.0, 100.0, 40), 100.0),
        # losses count against the score, a drawdown past 50% gives nothing
        ((-40.0, -1.0, 80.0, 25.0, 10), -12.0 - 15.0 + 0.0 + 3.75 + 5.0),
    ],
)
def test_the_row_score_is_the_spec_formula(
    values: tuple[float, float, float, float, int], by_hand: float
) -> None:
    row = row_from_metrics("GOOG", "strategies.x.X", metrics(*values))
    assert row.composite_score == pytest.approx(by_hand)
    assert row.composite_score == pytest.approx(spec(*values))
    assert row.composite_score == composite_score(*values)
    assert (
        row.total_return,
        row.sharpe,
        row.max_drawdown,
        row.win_rate,
        row.total_trades,
    ) == values


def scored(symbol: str, strategy: str, score: float) -> ScanRow:
    return ScanRow(symbol, strategy, 0.0, 0.0, 0.0, 0.0, 0, score)


def test_strategies_are_ranked_per_symbol_best_first_and_failed_rows_unranked() -> None:
    rows = [
        scored("GOOG", "a", 10.0), scored("GOOG", "b", 55.0), scored("GOOG", "c", 30.0),
        scored("ORCL", "a", 70.0), ScanRow("ORCL", "b", error="boom"), scored("ORCL", "c", 70.0),
        ScanRow("NVDA", "a", error="no data"),
    ]  # fmt: skip
    ranked = rank_rows(rows)
    assert [(r.symbol, r.strategy) for r in ranked] == [(r.symbol, r.strategy) for r in rows]
    assert [r.rank for r in ranked] == [3, 1, 2, 1, None, 2, None]  # a tie keeps the given order
    best = best_by_symbol(ranked)
    assert {s: (r.strategy if r else None) for s, r in best.items()} == {
        "GOOG": "b", "ORCL": "a", "NVDA": None,
    }  # fmt: skip


def test_metrics_that_are_not_finite_fail_the_row_instead_of_ranking_it() -> None:
    row = row_from_metrics("GOOG", "strategies.x.X", metrics(-100.0, float("nan"), 100.0, 0, 3))
    assert row.failed and row.composite_score is None
    assert row.error == "metrics that are not finite: {'sharpe': nan}"
    ranked = rank_rows([row, scored("GOOG", "y", 5.0)])
    assert [r.rank for r in ranked] == [None, 1]
