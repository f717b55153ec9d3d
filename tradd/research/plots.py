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


MARKERS = {
    ("long", "entry"): ("^", "tab:green"),
    ("long", "exit"): ("v", "tab:green"),
    ("short", "entry"): ("v", "tab:red"),
    ("short", "exit"): ("^", "tab:red"),
}
"""Trade markers on the equity curve: triangles point the way of the fill (up = buy),
green for long trades, red for short; exits are hollow."""


def equity_png(
    path: Path,
    clock: npt.NDArray[np.datetime64],
    equity: npt.NDArray[np.float64],
    title: str,
    initial_cash: float,
    *,
    trades: Sequence[Any] = (),
    buy_and_hold: npt.NDArray[np.float64] | None = None,
) -> None:
    """Write the equity chart (see `equity_figure`)."""
    plt = _pyplot()
    fig = equity_figure(
        clock, equity, title, initial_cash, trades=trades, buy_and_hold=buy_and_hold
    )
    fig.savefig(path, dpi=100)
    plt.close(fig)


def equity_figure(
    clock: npt.NDArray[np.datetime64],
    equity: npt.NDArray[np.float64],
    title: str,
    initial_cash: float,
    *,
    trades: Sequence[Any] = (),
    buy_and_hold: npt.NDArray[np.float64] | None = None,
) -> Any:
    """Equity over the run with its drawdown below; `trades` (objects with direction,
    entry_time and exit_time, e.g. `TradeRecord`) are marked on the curve where they were
    filled; `buy_and_hold` is the reference line (same cash, same clock)."""
    plt = _pyplot()
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(10, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    times = clock.astype("datetime64[s]").astype(object)
    top.plot(times, equity, color="tab:blue", linewidth=1.2, label="strategy")
    if buy_and_hold is not None:
        top.plot(times, buy_and_hold, color="tab:grey", linewidth=1.0, label="buy and hold")
    _mark_trades(top, clock, equity, trades)
    top.axhline(initial_cash, color="grey", linewidth=0.8, linestyle="--")
    top.set_title(title, fontsize=10)
    top.set_ylabel("portfolio value")
    top.legend(loc="upper left", fontsize=8)
    curve = np.concatenate([[initial_cash], equity])
    peaks = np.maximum.accumulate(curve)
    drawdown = ((curve - peaks) / peaks * 100.0)[1:]
    bottom.fill_between(times, drawdown, 0, color="tab:red", alpha=0.4)
    bottom.set_ylabel("drawdown %")
    fig.tight_layout()
    return fig


def _mark_trades(
    ax: Any,
    clock: npt.NDArray[np.datetime64],
    equity: npt.NDArray[np.float64],
    trades: Sequence[Any],
) -> None:
    """One scatter per (direction, entry/exit), at the equity of the fill's bar."""
    if not len(clock) or not trades:
        return
    seconds = clock.astype("datetime64[s]")
    for (direction, side), (marker, colour) in MARKERS.items():
        stamps = [getattr(t, f"{side}_time") for t in trades if t.direction == direction]
        if not stamps:
            continue
        at = np.searchsorted(seconds, np.array(stamps, dtype="datetime64[s]"))
        at = np.clip(at, 0, len(clock) - 1)
        ax.scatter(
            seconds[at].astype(object),
            equity[at],
            marker=marker,
            s=36,
            zorder=3,
            edgecolors=colour,
            facecolors=colour if side == "entry" else "none",
            label=f"{direction} {side}",
        )


def heatmap_png(
    path: Path,
    x_name: str,
    y_name: str,
    cells: Mapping[tuple[Any, Any], float],
    x_values: Sequence[Any],
    y_values: Sequence[Any],
    objective: str,
) -> None:
    """Write the grid heatmap (see `heatmap_figure`)."""
    plt = _pyplot()
    fig = heatmap_figure(x_name, y_name, cells, x_values, y_values, objective)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def heatmap_figure(
    x_name: str,
    y_name: str,
    cells: Mapping[tuple[Any, Any], float],
    x_values: Sequence[Any],
    y_values: Sequence[Any],
    objective: str,
) -> Any:
    """Objective over a two-parameter grid, each cell's value written in it and the best
    cell outlined; skipped or failed cells stay blank."""
    plt = _pyplot()
    grid = np.full((len(y_values), len(x_values)), np.nan)
    for (x, y), value in cells.items():
        grid[y_values.index(y), x_values.index(x)] = value
    # Bounded: a 100 x 100 grid at 0.6 inch a column was a 6000 x 4000 pixel image that
    # took 12 s and 1 GB to draw.
    width = min(max(6.0, len(x_values) * 0.6), MAX_HEATMAP_INCHES[0])
    height = min(max(4.0, len(y_values) * 0.4), MAX_HEATMAP_INCHES[1])
    fig, ax = plt.subplots(figsize=(width, height))
    image = ax.imshow(grid, origin="lower", aspect="auto", cmap="viridis")
    x_ticks, y_ticks = _tick_positions(len(x_values)), _tick_positions(len(y_values))
    ax.set_xticks(x_ticks, [str(x_values[i]) for i in x_ticks], rotation=90)
    ax.set_yticks(y_ticks, [str(y_values[i]) for i in y_ticks])
    ax.set_xlabel(x_name)
    ax.set_ylabel(y_name)
    ax.set_title(f"{objective} by {x_name} and {y_name}")
    fig.colorbar(image, ax=ax, label=objective)
    _write_cells(ax, grid)
    fig.tight_layout()
    return fig


MAX_HEATMAP_INCHES = (16.0, 12.0)
MAX_LABELLED_CELLS = 400
"""Beyond this many cells the values are not written in them (unreadable, and slow)."""


def _tick_positions(count: int, most: int = 25) -> list[int]:
    """Every value's tick, or every k-th one so at most `most` are labelled."""
    step = max(1, -(-count // most))
    return list(range(0, count, step))


def _write_cells(ax: Any, grid: npt.NDArray[np.float64]) -> None:
    """Each value in its cell (3 significant digits, dark on the bright end of the
    colour map) when the grid is small enough to read them, the best one outlined in red."""
    from matplotlib.patches import Rectangle

    if np.isnan(grid).all():
        return
    low, high = float(np.nanmin(grid)), float(np.nanmax(grid))
    size = 8 if grid.size <= 100 else 6
    for (row, column), value in np.ndenumerate(grid):
        if np.isnan(value) or grid.size > MAX_LABELLED_CELLS:
            continue
        bright = high > low and (value - low) / (high - low) > 0.6
        colour = "black" if bright else "white"
        ax.text(column, row, f"{value:.3g}", ha="center", va="center", fontsize=size, color=colour)
    row, column = np.unravel_index(np.nanargmax(grid), grid.shape)
    best = Rectangle((column - 0.5, row - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=2.5)
    best.set_label(f"best {grid[row, column]:.3g}")
    ax.add_patch(best)


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
