"""PNG charts for reports (matplotlib, headless). Imported lazily: plotting is slow to load."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def equity_png(
    path: Path,
    clock: npt.NDArray[np.datetime64],
    equity: npt.NDArray[np.float64],
    title: str,
    initial_cash: float,
) -> None:
    plt = _pyplot()
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(10, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    times = clock.astype("datetime64[s]").astype(object)
    top.plot(times, equity, color="tab:blue", linewidth=1.2)
    top.axhline(initial_cash, color="grey", linewidth=0.8, linestyle="--")
    top.set_title(title)
    top.set_ylabel("portfolio value")
    curve = np.concatenate([[initial_cash], equity])
    peaks = np.maximum.accumulate(curve)
    drawdown = ((curve - peaks) / peaks * 100.0)[1:]
    bottom.fill_between(times, drawdown, 0, color="tab:red", alpha=0.4)
    bottom.set_ylabel("drawdown %")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def heatmap_png(
    path: Path,
    x_name: str,
    y_name: str,
    cells: Mapping[tuple[Any, Any], float],
    x_values: Sequence[Any],
    y_values: Sequence[Any],
    objective: str,
) -> None:
    """Objective over a two-parameter grid; skipped or failed cells stay blank."""
    plt = _pyplot()
    grid = np.full((len(y_values), len(x_values)), np.nan)
    for (x, y), value in cells.items():
        grid[y_values.index(y), x_values.index(x)] = value
    fig, ax = plt.subplots(figsize=(max(6, len(x_values) * 0.5), max(4, len(y_values) * 0.35)))
    image = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis")
    ax.set_xticks(range(len(x_values)), [str(v) for v in x_values], rotation=90)
    ax.set_yticks(range(len(y_values)), [str(v) for v in y_values])
    ax.set_xlabel(x_name)
    ax.set_ylabel(y_name)
    ax.set_title(f"{objective} by {x_name} and {y_name}")
    fig.colorbar(image, ax=ax, label=objective)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def history_png(path: Path, values: Sequence[float], objective: str) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.plot(range(len(values)), values, "o", markersize=3, alpha=0.6, label="trial")
    ax.plot(range(len(values)), np.maximum.accumulate(values), color="tab:red", label="best so far")
    ax.set_xlabel("trial")
    ax.set_ylabel(objective)
    ax.set_title("optimization history")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def importance_png(path: Path, importances: Mapping[str, float]) -> None:
    plt = _pyplot()
    names = list(importances)[::-1]
    fig, ax = plt.subplots(figsize=(7, 1 + 0.5 * len(names)))
    ax.barh(names, [importances[n] for n in names], color="tab:green")
    ax.set_xlabel("importance (fANOVA)")
    ax.set_title("parameter importance")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
