"""What an optimize or walk-forward job looks like to the API: its results, read from the
files the command wrote (`optimization.json` and `results.csv`; `walkforward.json` and
`oos_equity.csv`), and its live leaderboard (`leaderboard.json`). A compare job's are
read by `compare_views`, and answered in the same shape.

The console never recomputes a figure: it reshapes what the CLI reported, so the page, the
downloads and `tradd runs show` always agree.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tradd.jsonsafe import finite
from tradd.research.leaderboard import LEADERBOARD_FILE, read_leaderboard
from tradd.web.jobs.compare_views import (
    compare_downloads,
    compare_fields,
    compare_files,
    read_comparison,
)
from tradd.web.records import JobKind, JobStatusName
from tradd.web.research_records import (
    Heatmap,
    Leaderboard,
    LeaderRow,
    Overfitting,
    ResearchResults,
)

RESULT_FILES = {JobKind.OPTIMIZE: "optimization.json", JobKind.WALKFORWARD: "walkforward.json"}
CSV_FILES = {JobKind.OPTIMIZE: "results.csv", JobKind.WALKFORWARD: "walkforward.csv"}
MAX_CURVE_POINTS = 2000
"""The stitched OOS equity is thinned to about this many points for the chart."""


class BadAxis(ValueError):
    """A heatmap axis that is not one of the varying parameters; the message names it."""


def read_document(kind: JobKind, output: Path) -> dict[str, Any] | None:
    if kind is JobKind.COMPARE:
        return read_comparison(output)
    try:
        loaded = json.loads((output / RESULT_FILES[kind]).read_text())
    except (OSError, ValueError, KeyError):
        return None
    return loaded if isinstance(loaded, dict) else None


def research_results(
    job_id: str,
    kind: JobKind,
    status: JobStatusName,
    output: Path | None,
    axes: tuple[str | None, str | None] = (None, None),
) -> ResearchResults:
    """The job's results once its report exists (a cancelled job keeps what it finished)."""
    base = ResearchResults(job_id=job_id, kind=kind, status=status)
    document = read_document(kind, output) if output is not None else None
    if output is None or document is None:
        note = "no results yet" if status in (JobStatusName.QUEUED, JobStatusName.RUNNING) else (
            "the job wrote no report")  # fmt: skip
        return base.model_copy(update={"note": note})
    if kind is JobKind.COMPARE:
        if axes != (None, None):
            raise BadAxis("x, y: a comparison has no heatmap")
        fields = compare_fields(document, output)
    elif kind is JobKind.OPTIMIZE:
        fields = _optimize(document, output, axes)
    else:
        fields = _walkforward(document, output)
    fields["downloads"] = available_downloads(kind, output)
    return ResearchResults.model_validate({**base.model_dump(), **finite(fields)})


def _common(document: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "strategy": document.get("strategy"),
        "objective": document.get("objective"),
        "method": document.get("method"),
        "symbols": list(document.get("symbols") or []),
        "start": _text(document.get("start")),
        "end": _text(document.get("end")),
        "param_space": dict(document.get("param_space") or {}),
        "varying": [n for n, v in (document.get("param_space") or {}).items() if len(v) > 1],
    }


def _optimize(
    document: Mapping[str, Any], output: Path, axes: tuple[str | None, str | None]
) -> dict[str, Any]:
    fields = _common(document)
    top = document.get("top_10_results") or []
    best = top[0] if top else {}
    figures = dict(document.get("overfitting") or {})
    fields.update(
        best_params=document.get("best_params"),
        best_value=best.get("objective"),
        best_metrics=document.get("best_metrics"),
        leaderboard=[
            LeaderRow(
                rank=r["rank"],
                trial=r.get("trial"),
                params=r["params"],
                objective=r.get("objective"),
                metrics=r.get("metrics") or {},
            )
            for r in top
        ],
        counts=dict(document.get("counts") or {}),
        heatmap=heatmap(output, fields["param_space"], fields["varying"], axes),
        overfitting=_overfitting(figures),
        note=document.get("failed_trials"),
    )
    return fields


def _walkforward(document: Mapping[str, Any], output: Path) -> dict[str, Any]:
    fields = _common(document)
    windows = [_window(w) for w in document.get("windows") or []]
    summary = dict(document.get("summary") or {})
    figures = dict(summary.pop("overfitting", None) or {})
    last = windows[-1] if windows else {}
    fields.update(
        best_params=last.get("best_params"),
        best_value=last.get("objective_value"),
        windows=windows,
        counts={"windows": len(windows), "planned": document.get("planned_windows")},
        is_vs_oos={
            "window": [w["index"] for w in windows],
            "label": [f"{w['index']}: {w['oos_start']}" for w in windows],
            "is_sharpe": [w.get("is_sharpe") for w in windows],
            "oos_sharpe": [w.get("oos_sharpe") for w in windows],
            "degradation": [w.get("degradation") for w in windows],
        },
        oos_equity=_equity(output / "oos_equity.csv"),
        summary=summary,
        overfitting=_overfitting(figures),
        note=document.get("failed_trials"),
    )
    return fields


def _window(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A window without its bulky detail (every metric twice, PBO internals)."""
    kept = {k: v for k, v in entry.items() if not isinstance(v, dict) or k == "best_params"}
    kept["pbo"] = (entry.get("pbo") or {}).get("pbo")
    kept["is_dsr"] = (entry.get("dsr") or {}).get("dsr")
    return kept


def _overfitting(figures: dict[str, Any]) -> Overfitting | None:
    if not figures:
        return None
    warnings = [str(w) for w in figures.pop("warnings", None) or []]
    notes = [str(n) for n in figures.pop("notes", None) or []]
    return Overfitting(figures=figures, warnings=warnings, notes=notes)


def heatmap(
    output: Path,
    space: Mapping[str, Sequence[Any]],
    varying: list[str],
    axes: tuple[str | None, str | None],
) -> Heatmap | None:
    """The objective over two varying parameters from every completed trial in
    `results.csv`: each cell the best trial with those two values."""
    x, y = axes
    for axis, name in (("x", x), ("y", y)):
        if name is not None and name not in varying:
            choices = ", ".join(varying) or "none"
            raise BadAxis(f"{axis}: {name!r} is not a varying parameter (choose from {choices})")
    x = x or next((n for n in varying if n != y), None)
    y = y or next((n for n in varying if n != x), None)
    if x is None or y is None or x == y:
        return None
    rows = _trials(output / "results.csv")
    xs, ys = _axis(space[x], rows, x), _axis(space[y], rows, y)
    cells: list[list[float | None]] = [[None] * len(xs) for _ in ys]
    for row in rows:
        value = _number(row.get("objective"))
        i, j = ys.get(row.get(y, "")), xs.get(row.get(x, ""))
        if value is None or i is None or j is None:
            continue
        if cells[i][j] is None or value > cells[i][j]:  # type: ignore[operator]
            cells[i][j] = value
    return Heatmap(x=x, y=y, x_values=_values(xs, space[x]), y_values=_values(ys, space[y]),
                   cells=cells)  # fmt: skip


def _trials(path: Path) -> list[dict[str, str]]:
    try:
        with path.open(newline="") as fh:
            return [r for r in csv.DictReader(fh) if r.get("state") == "complete"]
    except OSError:
        return []


def _axis(values: Sequence[Any], rows: list[dict[str, str]], name: str) -> dict[str, int]:
    """Column index per value as the CSV writes it; a Bayesian search's lattice can be
    large, so only the values some trial ran are kept (all of a grid's)."""
    seen = {r.get(name, "") for r in rows}
    texts = [str(v) for v in values]
    kept = [t for t in texts if t in seen] if len(texts) > 50 else texts
    return {t: i for i, t in enumerate(kept)}


def _values(index: dict[str, int], values: Sequence[Any]) -> list[Any]:
    by_text = {str(v): v for v in values}
    return [by_text[t] for t in index]


def _number(text: str | None) -> float | None:
    try:
        value = float(text) if text not in (None, "") else None
    except ValueError:
        return None
    return value if value is None or math.isfinite(value) else None


def _equity(path: Path) -> dict[str, list[Any]] | None:
    try:
        with path.open(newline="") as fh:
            rows = list(csv.DictReader(fh))
    except OSError:
        return None
    step = max(1, len(rows) // MAX_CURVE_POINTS)
    chosen = rows[::step] + ([rows[-1]] if rows and (len(rows) - 1) % step else [])
    times, equity = [], []
    for row in chosen:
        try:
            stamp = datetime.fromisoformat(row["datetime"])
            times.append(int((stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)).timestamp()))
            equity.append(float(row["equity"]))
        except (KeyError, ValueError):
            continue
    return {"time": times, "equity": equity}


def leaderboard_file(kind: JobKind, output: Path) -> Path:
    """Where the job's command keeps its live leaderboard."""
    if kind is JobKind.COMPARE:
        return compare_files(output).leaderboard
    return output / LEADERBOARD_FILE


def leaderboard_of(job_id: str, kind: JobKind, output: Path | None) -> Leaderboard | None:
    """The job's live leaderboard, if its command wrote one yet."""
    board = leaderboard_file(kind, output) if output is not None else None
    document = read_leaderboard(board.parent, board.name) if board is not None else None
    if document is None:
        return None
    return Leaderboard.model_validate(finite({
        "job_id": job_id,
        "objective": document.get("objective"),
        "counts": document.get("counts") or {},
        "top": document.get("top") or [],
        "windows": document.get("windows") or [],
    }))  # fmt: skip


def available_downloads(kind: JobKind, output: Path) -> list[str]:
    """`best.toml`, `results.json`, `results.csv`, `report.html`: those that can be made."""
    names = []
    document = read_document(kind, output)
    if document is None:
        return []
    if kind is JobKind.COMPARE:
        return compare_downloads(output)
    if (output / "best_params.toml").exists() or (
        kind is JobKind.WALKFORWARD and document.get("windows")
    ):
        names.append("best.toml")
    names.append("results.json")
    if (output / CSV_FILES[kind]).exists():
        names.append("results.csv")
    names.append("report.html")
    return names


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
