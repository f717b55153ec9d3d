"""The walk-forward charts: IS vs OOS Sharpe per window, and the stitched OOS equity."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tradd.research.walkforward.summary import StitchedCurve


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def is_vs_oos_png(
    path: Path, labels: Sequence[str], is_sharpe: Sequence[float], oos_sharpe: Sequence[float]
) -> None:
    """Side-by-side bars per window: the gap between them is the degradation."""
    plt = _pyplot()
    x = np.arange(len(labels))
    fig, ax = plt.subplots(figsize=(max(7, len(labels) * 0.9), 4.5))
    ax.bar(x - 0.2, is_sharpe, width=0.4, label="in sample", color="tab:blue")
    ax.bar(x + 0.2, oos_sharpe, width=0.4, label="out of sample", color="tab:orange")
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_xticks(x, labels, rotation=45, ha="right")
    ax.set_ylabel("Sharpe ratio")
    ax.set_title("in-sample vs out-of-sample Sharpe per window (OOS start)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def oos_equity_png(path: Path, curve: StitchedCurve, initial_cash: float, title: str) -> None:
    """The stitched curve with its drawdown; alternate windows are shaded."""
    plt = _pyplot()
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(10, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    times = curve.clock.astype("datetime64[s]").astype(object)
    top.plot(times, curve.equity, color="tab:blue", linewidth=1.2)
    top.axhline(initial_cash, color="grey", linewidth=0.8, linestyle="--")
    for shade, index in enumerate(np.unique(curve.window)):
        if shade % 2:
            points = np.flatnonzero(curve.window == index)
            top.axvspan(times[points[0]], times[points[-1]], color="grey", alpha=0.1)
    top.set_title(title)
    top.set_ylabel("portfolio value")
    series = np.concatenate([[initial_cash], curve.equity])
    peaks = np.maximum.accumulate(series)
    drawdown = ((series - peaks) / peaks * 100.0)[1:]
    bottom.fill_between(times, drawdown, 0, color="tab:red", alpha=0.4)
    bottom.set_ylabel("drawdown %")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
