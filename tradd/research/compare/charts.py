"""The comparison's two charts as PNG bytes: equity curves overlaid, and drawdowns.

Bytes rather than files: the HTML report embeds them (data URIs) so it stays one
self-contained file; the report also writes them beside it for reuse elsewhere.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from tradd.research.compare.runner import StrategyRun

SIZE = (10.0, 4.5)
DPI = 100


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def drawdown_pct(equity: npt.NDArray[np.float64], initial_cash: float) -> npt.NDArray[np.float64]:
    """Percent below the running peak at each bar (<= 0); the initial cash is the first peak."""
    curve = np.concatenate([[initial_cash], equity])
    peaks = np.maximum.accumulate(curve)
    out: npt.NDArray[np.float64] = ((curve - peaks) / peaks * 100.0)[1:]
    return out


def equity_png(runs: Sequence[StrategyRun], initial_cash: float, title: str) -> bytes:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=SIZE)
    for run in runs:
        times = run.clock.astype("datetime64[s]").astype(object)
        ax.plot(times, run.equity, linewidth=1.2, label=run.contender.label)
    ax.axhline(initial_cash, color="grey", linewidth=0.8, linestyle="--")
    ax.set_title(title)
    ax.set_ylabel("portfolio value")
    ax.legend(loc="best")
    return _png(plt, fig)


def drawdown_png(runs: Sequence[StrategyRun], initial_cash: float, title: str) -> bytes:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=SIZE)
    for run in runs:
        times = run.clock.astype("datetime64[s]").astype(object)
        ax.plot(
            times, drawdown_pct(run.equity, initial_cash), linewidth=1.0, label=run.contender.label
        )
    ax.set_title(title)
    ax.set_ylabel("drawdown %")
    ax.legend(loc="lower left")
    return _png(plt, fig)


def _png(plt: Any, fig: Any) -> bytes:
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    plt.close(fig)
    return buffer.getvalue()
