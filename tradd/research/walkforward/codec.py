"""A window's result as JSON text, for a walk-forward shared through a study
(`tradd.research.shared.units`): what one process ran, another reports.

Exact: floats are written with `repr` (Python's json), so they read back bit for bit, NaN
included; the OOS clock as integers in its own unit. `trial_returns` (the IS returns of every trial,
days x trials: megabytes for a big grid) is not kept: it served the window's overfitting
statistics, which are kept, and nothing after the window reads it.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date
from typing import Any

import numpy as np

from tradd.research.metrics import Metrics
from tradd.research.stats.dsr import DeflatedSharpe
from tradd.research.stats.pbo import BacktestOverfitting
from tradd.research.walkforward.evaluate import TrialCounts, WindowResult
from tradd.research.walkforward.overfit import WindowOverfitting
from tradd.research.walkforward.windows import Window

VERSION = 1


def encode_window(result: WindowResult) -> str:
    overfitting = result.overfitting
    return json.dumps(
        {
            "version": VERSION,
            "window": result.window.as_dict(),
            "best_params": result.best_params,
            "best_value": float(result.best_value),
            "is_metrics": _floats(asdict(result.is_metrics)),
            "oos_metrics": _floats(asdict(result.oos_metrics)),
            "oos_clock_dtype": str(result.oos_clock.dtype),
            "oos_clock": result.oos_clock.view(np.int64).tolist(),
            "oos_equity": [float(v) for v in result.oos_equity],
            "counts": asdict(result.counts),
            "overfitting": {
                "pbo": None if overfitting.pbo is None else _floats(asdict(overfitting.pbo)),
                "note": overfitting.note,
                "trial_sharpe_variance": overfitting.trial_sharpe_variance,
                "distinct_trials": overfitting.distinct_trials,
                "dsr": None if overfitting.dsr is None else _floats(asdict(overfitting.dsr)),
                "dsr_note": overfitting.dsr_note,
            },
        }
    )


def decode_window(text: str) -> WindowResult:
    """The result `encode_window` wrote (ValueError when the text is not one)."""
    try:
        data = json.loads(text)
        if data.get("version") != VERSION:
            raise ValueError(f"result version {data.get('version')!r}, expected {VERSION}")
        return _window_result(data)
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"not a stored walk-forward window: {exc}") from exc


def _window_result(data: dict[str, Any]) -> WindowResult:
    w = data["window"]
    window = Window(
        int(w["index"]),
        date.fromisoformat(w["is_start"]),
        date.fromisoformat(w["is_end"]),
        date.fromisoformat(w["oos_start"]),
        date.fromisoformat(w["oos_end"]),
        bool(w["truncated"]),
    )
    o = data["overfitting"]
    pbo = o["pbo"]
    overfitting = WindowOverfitting(
        pbo=None if pbo is None else BacktestOverfitting(**{**pbo, "logits": tuple(pbo["logits"])}),
        note=o["note"],
        trial_sharpe_variance=o["trial_sharpe_variance"],
        distinct_trials=o["distinct_trials"],
        dsr=None if o["dsr"] is None else DeflatedSharpe(**o["dsr"]),
        dsr_note=o["dsr_note"],
    )
    return WindowResult(
        window,
        dict(data["best_params"]),
        float(data["best_value"]),
        Metrics(**data["is_metrics"]),
        Metrics(**data["oos_metrics"]),
        np.asarray(data["oos_clock"], dtype=np.int64).view(np.dtype(data["oos_clock_dtype"])),
        np.asarray(data["oos_equity"], dtype=np.float64),
        TrialCounts(**data["counts"]),
        np.zeros((0, 0)),
        overfitting,
    )


def _floats(record: dict[str, Any]) -> dict[str, Any]:
    """numpy scalars as Python numbers (json writes those exactly)."""
    return {k: v.item() if isinstance(v, np.generic) else v for k, v in record.items()}
