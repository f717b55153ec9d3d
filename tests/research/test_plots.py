"""What the report charts show: trades, buy and hold, the run in the title; the best cell."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from tradd.research.plots import equity_figure, equity_png, heatmap_figure, heatmap_png
from tradd.research.trades import TradeRecord

CLOCK = np.arange("2024-01-01", "2024-01-11", dtype="datetime64[D]").astype("datetime64[s]")
EQUITY = np.linspace(100.0, 110.0, len(CLOCK))


def trade(direction: str, entry: str, exit_: str) -> TradeRecord:
    return TradeRecord("X", direction, 1, 1, entry, 1, exit_, 2, 1, 0, 1, 2)


TRADES = [
    trade("long", "2024-01-02T00:00:00", "2024-01-04T00:00:00"),
    trade("long", "2024-01-05T00:00:00", "2024-01-06T00:00:00"),
    trade("short", "2024-01-06T00:00:00", "2024-01-09T00:00:00"),
]


def test_equity_chart_marks_trades_and_draws_buy_and_hold() -> None:
    hold = np.linspace(100.0, 90.0, len(CLOCK))
    title = "SmaCross on X, 2024-01-01 .. 2024-01-10\nfast=10, slow=30"
    fig = equity_figure(CLOCK, EQUITY, title, 100.0, trades=TRADES, buy_and_hold=hold)
    top = fig.axes[0]
    assert top.get_title() == title
    lines = {line.get_label(): line for line in top.get_lines()}
    assert lines["buy and hold"].get_ydata().tolist() == hold.tolist()
    markers = {c.get_label(): c for c in top.collections}
    assert set(markers) == {"long entry", "long exit", "short entry", "short exit"}
    # each marker sits on the equity curve at the bar of its fill
    assert markers["long entry"].get_offsets()[:, 1].tolist() == [EQUITY[1], EQUITY[4]]
    assert markers["long exit"].get_offsets()[:, 1].tolist() == [EQUITY[3], EQUITY[5]]
    assert markers["short entry"].get_offsets()[:, 1].tolist() == [EQUITY[5]]
    assert markers["short exit"].get_offsets()[:, 1].tolist() == [EQUITY[8]]
    legend = [text.get_text() for text in top.get_legend().get_texts()]
    assert "buy and hold" in legend and "short entry" in legend
    plt.close(fig)


def test_heatmap_writes_values_and_outlines_the_best_cell() -> None:
    cells = {(5, 30): 0.5, (10, 30): 1.25, (5, 40): -0.3}  # (10, 40) failed: blank
    fig = heatmap_figure("fast", "slow", cells, [5, 10], [30, 40], "sharpe")
    ax = fig.axes[0]
    texts = {(t.get_position(), t.get_text()) for t in ax.texts}
    assert texts == {((0, 0), "0.5"), ((1, 0), "1.25"), ((0, 1), "-0.3")}
    (best,) = ax.patches
    assert best.get_xy() == (0.5, -0.5)  # column 1 (fast=10), row 0 (slow=30)
    assert best.get_label() == "best 1.25"
    plt.close(fig)


def test_chart_files_are_pngs(tmp_path: Path) -> None:
    equity_png(tmp_path / "e.png", CLOCK, EQUITY, "t", 100.0, trades=TRADES)
    heatmap_png(tmp_path / "h.png", "a", "b", {(1, 2): 1.0}, [1], [2], "sharpe")
    for name in ("e.png", "h.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_large_grid_heatmap_stays_a_readable_size() -> None:
    """A 100 x 100 grid drew a 6000 x 4000 pixel image with 10,000 labels (12 s, 1 GB)."""
    xs, ys = list(range(100)), list(range(100, 200))
    cells = {(x, y): float(x - y) for x in xs for y in ys}
    fig = heatmap_figure("fast", "slow", cells, xs, ys, "sharpe")
    width, height = fig.get_size_inches()
    assert width <= 16 and height <= 12
    ax = fig.axes[0]
    assert not ax.texts  # values are not written in 10,000 cells
    assert 0 < len(ax.get_xticks()) <= 25 and 0 < len(ax.get_yticks()) <= 25
    assert [p.get_label() for p in ax.patches] == ["best -1"]
    plt.close(fig)
