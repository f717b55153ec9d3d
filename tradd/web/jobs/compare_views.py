"""What a compare job looks like to the API: its results and downloads, from the files
`tradd compare` wrote (`comparison.json`, `comparison.returns.csv`, `comparison.html`),
and its live leaderboard (`comparison.leaderboard.json`: the strategies finished so far).

A console job's output is its directory, the report inside it (`comparison.html`); a run
started from the command line records the report itself (its `--output`), which may sit
in a shared `results/` directory: every file is found beside the report, by its stem.

As for the other research jobs, the console never recomputes a figure. The one thing it
derives is each strategy's equity at each period's close, for the chart: the initial cash
compounded by the period returns the command wrote, exactly the closes those returns were
taken from.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tradd.web.jobs.command import COMPARE_REPORT
from tradd.web.research_records import CompareRow, ComparisonView, LeaderRow

REPORT_SUFFIXES = (".html", ".htm")
MAX_CURVE_POINTS = 2000
"""Each equity curve is thinned to about this many points for the chart."""


@dataclass(frozen=True)
class CompareFiles:
    html: Path

    def beside(self, suffix: str) -> Path:
        return self.html.with_name(f"{self.html.stem}{suffix}")

    @property
    def json(self) -> Path:
        return self.beside(".json")

    @property
    def returns(self) -> Path:
        return self.beside(".returns.csv")

    @property
    def leaderboard(self) -> Path:
        return self.beside(".leaderboard.json")


def compare_files(output: Path) -> CompareFiles:
    """The report of a job (its directory) or of a CLI run (the report's path)."""
    if output.suffix.lower() in REPORT_SUFFIXES:
        return CompareFiles(output)
    return CompareFiles(output / COMPARE_REPORT)


def read_comparison(output: Path) -> dict[str, Any] | None:
    try:
        loaded = json.loads(compare_files(output).json.read_text())
    except (OSError, ValueError):
        return None
    return loaded if isinstance(loaded, dict) else None


def compare_fields(document: dict[str, Any], output: Path) -> dict[str, Any]:
    """`ResearchResults` fields of a comparison: the common ones, the leaderboard (by
    Sharpe, as the CLI ranks) and the comparison itself."""
    rows = [_row(entry) for entry in document.get("strategies") or []]
    best = rows[0] if rows else None
    initial = document.get("initial_cash")
    view = ComparisonView(
        ranked_by=str(document.get("ranked_by") or "sharpe"),
        days=document.get("days"),
        initial_cash=initial,
        strategies=rows,
        tests=list(document.get("tests") or []),
        alpha=document.get("alpha"),
        equity=_equity(compare_files(output).returns, initial),
    )
    return {
        "objective": view.ranked_by,
        "symbols": list(document.get("symbols") or []),
        "start": _text(document.get("start")),
        "end": _text(document.get("end")),
        "strategy": best.strategy if best else None,
        "best_params": best.params if best else None,
        "best_value": best.metrics.get("sharpe") if best else None,
        "best_metrics": best.metrics if best else None,
        "leaderboard": [_leader(r) for r in rows],
        "counts": {"strategies": len(rows)},
        "comparison": view,
    }


def _leader(row: CompareRow) -> LeaderRow:
    """A strategy as a leaderboard row: its label as its only "parameter"."""
    return LeaderRow(rank=row.rank, params={"strategy": row.label},
                     objective=row.metrics.get("sharpe"), metrics=row.metrics)  # fmt: skip


def _row(entry: dict[str, Any]) -> CompareRow:
    return CompareRow(
        rank=int(entry.get("rank") or 0),
        label=str(entry.get("label")),
        strategy=str(entry.get("strategy")),
        params=dict(entry.get("params") or {}),
        params_from=entry.get("params_from"),
        metrics=dict(entry.get("metrics") or {}),
    )


def _equity(path: Path, initial: Any) -> dict[str, list[Any]] | None:
    """`time` and per strategy its equity at each period's close, thinned for a chart."""
    if not isinstance(initial, int | float) or initial <= 0:
        return None
    try:
        with path.open(newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            rows = list(reader)
    except OSError:
        return None
    if not header or header[0] != "period_end" or len(header) < 2:
        return None
    labels = header[1:]
    times: list[int] = []
    curves: list[list[float | None]] = [[] for _ in labels]
    value = [float(initial)] * len(labels)
    for row in rows:
        try:
            stamp = datetime.fromisoformat(row[0])
            returns = [float(cell) for cell in row[1:]]
        except (IndexError, ValueError):
            continue
        times.append(int((stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)).timestamp()))
        for i, r in enumerate(returns[: len(labels)]):
            value[i] *= 1.0 + r
            curves[i].append(value[i] if math.isfinite(value[i]) else None)
    step = max(1, len(times) // MAX_CURVE_POINTS)
    keep = list(range(0, len(times), step))
    if times and keep[-1] != len(times) - 1:
        keep.append(len(times) - 1)
    result: dict[str, list[Any]] = {"time": [times[i] for i in keep]}
    for label, curve in zip(labels, curves, strict=True):
        result[label] = [curve[i] for i in keep if i < len(curve)]
    return result


def compare_downloads(output: Path) -> list[str]:
    """`results.json` (comparison.json), `results.csv` (the period returns) and
    `report.html` (the command's own report): those it wrote."""
    files = compare_files(output)
    names = ["results.json"]
    if files.returns.exists():
        names.append("results.csv")
    if files.html.exists():
        names.append("report.html")
    return names


def compare_file(output: Path, name: str) -> Path | None:
    """The file behind a download name, None for one a comparison has not (best.toml)."""
    files = compare_files(output)
    return {"results.json": files.json, "results.csv": files.returns,
            "report.html": files.html}.get(name)  # fmt: skip


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
