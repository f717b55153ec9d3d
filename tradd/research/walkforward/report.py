"""What a walk-forward leaves on disk.

- walkforward.json: the run's settings, `summary` (see summary.py) and `windows`, one entry
  per window with its dates, best parameters, IS and OOS figures and degradation.
- walkforward.csv: one row per window, the same figures flat.
- oos_equity.csv: the stitched OOS equity curve (datetime, window, equity).
- oos_returns.csv: its period returns (period_end, return), exactly the ones the summary's
  OOS Sharpe and overfitting statistics use (see research.series).
- is_vs_oos.png and oos_equity.png.
Non-finite numbers (none are expected) are written as null, so the JSON stays valid.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from tradd.jsonsafe import finite
from tradd.research.metrics import US_DAILY, ReturnBasis
from tradd.research.series import write_returns_csv
from tradd.research.walkforward.evaluate import WindowResult
from tradd.research.walkforward.plots import is_vs_oos_png, oos_equity_png
from tradd.research.walkforward.summary import StitchedCurve, WalkForwardSummary

JSON_FILE = "walkforward.json"
CSV_FILE = "walkforward.csv"
EQUITY_FILE = "oos_equity.csv"
RETURNS_FILE = "oos_returns.csv"
IS_VS_OOS_FILE = "is_vs_oos.png"
EQUITY_PNG_FILE = "oos_equity.png"
FLAT_KEYS = (
    "is_sharpe",
    "oos_sharpe",
    "degradation",
    "is_return",
    "oos_return",
    "is_max_drawdown",
    "oos_max_drawdown",
    "is_trades",
    "oos_trades",
    "is_cagr",
    "oos_cagr",
)


def window_entry(result: WindowResult) -> dict[str, Any]:
    """One window for the JSON: dates, best params, headline figures, then the details."""
    i, o = result.is_metrics, result.oos_metrics
    return {
        **result.window.as_dict(),
        "best_params": result.best_params,
        "objective_value": result.best_value,
        "is_sharpe": i.sharpe,
        "oos_sharpe": o.sharpe,
        "degradation": result.degradation,
        "is_return": i.total_return,
        "oos_return": o.total_return,
        "is_max_drawdown": i.max_drawdown,
        "oos_max_drawdown": o.max_drawdown,
        "is_trades": i.total_trades,
        "oos_trades": o.total_trades,
        "is_cagr": i.cagr,
        "oos_cagr": o.cagr,
        "oos_bars": len(result.oos_clock),
        "is_metrics": i.as_dict(),
        "oos_metrics": o.as_dict(),
        "trials": asdict(result.counts),
        "pbo": result.overfitting.as_dict(),
        "dsr": result.overfitting.dsr_dict(),
    }


def write_outputs(
    output: Path,
    settings: Mapping[str, Any],
    results: Sequence[WindowResult],
    summary: WalkForwardSummary,
    curve: StitchedCurve,
    initial_cash: float,
    basis: ReturnBasis = US_DAILY,
) -> dict[str, str]:
    """Write every file; returns {kind: file name}, also listed in the JSON."""
    output.mkdir(parents=True, exist_ok=True)
    ordered = sorted(results, key=lambda r: r.window.index)
    entries = [window_entry(r) for r in ordered]
    files = {
        "json": JSON_FILE,
        "csv": CSV_FILE,
        "oos_equity_csv": EQUITY_FILE,
        "oos_returns_csv": RETURNS_FILE,
        "is_vs_oos": IS_VS_OOS_FILE,
        "oos_equity": EQUITY_PNG_FILE,
    }
    _write_csv(output / CSV_FILE, entries, list(settings.get("param_space", {})))
    _write_equity(output / EQUITY_FILE, curve)
    write_returns_csv(output / RETURNS_FILE, curve.clock, curve.equity, initial_cash, basis)
    labels = [f"{r.window.index}: {r.window.oos_start}" for r in ordered]
    is_vs_oos_png(
        output / IS_VS_OOS_FILE,
        labels,
        [r.is_metrics.sharpe for r in ordered],
        [r.oos_metrics.sharpe for r in ordered],
    )
    title = f"stitched out-of-sample equity, {len(ordered)} windows"
    oos_equity_png(output / EQUITY_PNG_FILE, curve, initial_cash, title)
    document = {**settings, "summary": summary.as_dict(), "windows": entries, "files": files}
    (output / JSON_FILE).write_text(json.dumps(finite(document), indent=2, default=str) + "\n")
    return files


def _write_csv(path: Path, entries: Sequence[Mapping[str, Any]], params: list[str]) -> None:
    dates = ("index", "is_start", "is_end", "oos_start", "oos_end", "truncated")
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow([*dates, *params, *FLAT_KEYS, "pbo"])
        for entry in entries:
            writer.writerow(
                [
                    *(entry[k] for k in dates),
                    *(entry["best_params"].get(p, "") for p in params),
                    *(entry[k] for k in FLAT_KEYS),
                    "" if entry["pbo"]["pbo"] is None else entry["pbo"]["pbo"],
                ]
            )


def _write_equity(path: Path, curve: StitchedCurve) -> None:
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["datetime", "window", "equity"])
        for stamp, window, value in zip(
            curve.clock.astype("datetime64[s]").astype(str),
            curve.window.tolist(),
            curve.equity.tolist(),
            strict=True,
        ):
            writer.writerow([stamp, window, repr(value)])  # full precision: recomputable
