"""What `tradd compare` leaves on disk, all named after `--output` (e.g. comparison.html):
comparison.html, comparison.json, comparison.equity.png, comparison.drawdown.png,
comparison.returns.csv (each strategy's period returns, the ones its Sharpe, Sortino and
volatility and the pair tests use: `period_end` and one column per strategy label) and,
with `--format pdf|both`, comparison.pdf (printed from the HTML, which is therefore
always written)."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tradd.errors import UsageError
from tradd.research.compare.analysis import Comparison, PairTest
from tradd.research.compare.browser import print_pdf
from tradd.research.compare.charts import drawdown_png, equity_png
from tradd.research.compare.html import render
from tradd.research.series import period_end_times, write_returns_table
from tradd.research.stats.significance import SignificanceTest

FORMATS = ("html", "pdf", "both")
HTML_SUFFIXES = (".html", ".htm")


@dataclass(frozen=True)
class ReportFiles:
    html: Path
    json: Path
    charts: tuple[Path, ...]
    pdf: Path | None = None
    returns: Path | None = None


def check_output(output: Path, fmt: str) -> None:
    """Before any work: a bad --output or --format must not cost the backtests."""
    if fmt not in FORMATS:
        raise UsageError(f"--format {fmt!r}: use one of {', '.join(FORMATS)}")
    if output.suffix.lower() not in HTML_SUFFIXES:
        raise UsageError(
            f"--output {output}: name the HTML report (e.g. results/comparison.html); "
            "the JSON and PDF go beside it with the same stem"
        )


def write_report(
    comparison: Comparison,
    output: Path,
    fmt: str,
    browser: Path | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> ReportFiles:
    check_output(output, fmt)
    output.parent.mkdir(parents=True, exist_ok=True)
    generated_at = now()
    where = ", ".join(comparison.symbols)
    charts = {
        "Equity": equity_png(comparison.runs, comparison.initial_cash, f"Equity on {where}"),
        "Drawdown": drawdown_png(comparison.runs, comparison.initial_cash, f"Drawdown on {where}"),
    }
    chart_paths = []
    for name, png in charts.items():
        path = output.with_name(f"{output.stem}.{name.lower()}.png")
        _write_atomic(path, png)
        chart_paths.append(path)
    _write_atomic(output, render(comparison, charts, generated_at).encode())
    returns = output.with_name(f"{output.stem}.returns.csv")
    _write_returns(comparison, returns)
    files = ReportFiles(output, output.with_suffix(".json"), tuple(chart_paths), returns=returns)
    # The JSON first: if Chromium fails, the numbers of a long comparison are still saved.
    _write_json(comparison, files, generated_at)
    if fmt in ("pdf", "both"):
        if browser is None:
            raise ValueError("a PDF needs the browser (find_browser) to print it")
        pdf = output.with_suffix(".pdf")
        print_pdf(browser, output, pdf)
        files = replace(files, pdf=pdf)
        _write_json(comparison, files, generated_at)
    return files


def _write_returns(comparison: Comparison, path: Path) -> None:
    c = comparison
    ends = period_end_times(c.runs[0].clock, c.basis)
    partial = path.with_name(f".{path.name}.partial")
    write_returns_table(partial, ends, {run.contender.label: run.daily for run in c.runs})
    os.replace(partial, path)


def _write_json(comparison: Comparison, files: ReportFiles, generated_at: datetime) -> None:
    document = to_document(comparison, files, generated_at)
    _write_atomic(files.json, (json.dumps(document, indent=2) + "\n").encode())


def to_document(
    comparison: Comparison, files: ReportFiles, generated_at: datetime
) -> dict[str, Any]:
    c = comparison
    names = {"html": files.html, "json": files.json, "pdf": files.pdf}
    names["returns_csv"] = files.returns
    names.update({f"{p.stem.rsplit('.', 1)[-1]}_png": p for p in files.charts})
    return {
        "symbols": list(c.symbols),
        "bar": c.bar,
        "start": c.start,
        "end": c.end,
        "days": len(c.runs[0].daily),
        "initial_cash": c.initial_cash,
        "risk_free_rate": c.risk_free_rate,
        "settings": c.settings,
        "generated_at": generated_at.isoformat(timespec="seconds"),
        "ranked_by": "sharpe",
        "strategies": [
            {
                "rank": rank,
                "label": run.contender.label,
                "strategy": run.contender.path,
                "params": {k: _json_value(v) for k, v in run.contender.params.items()},
                "params_from": run.contender.params_source,
                "metrics": {k: _finite(v) for k, v in run.metrics.as_dict().items()},
                "warmup": asdict(run.warmup) if run.warmup else None,
            }
            for rank, run in enumerate(c.runs, start=1)
        ],
        "alpha": c.alpha,
        "tests": [_pair_entry(pair, c.alpha) for pair in c.pairs],
        "files": {key: path.name for key, path in names.items() if path is not None},
    }


def _pair_entry(pair: PairTest, alpha: float) -> dict[str, Any]:
    return {
        "first": pair.first,
        "second": pair.second,
        "mean_daily_return_difference_pct": _finite(pair.mean_difference),
        "paired_t_test": _test_entry(pair.paired_t, alpha),
        "sharpe_difference_test": _test_entry(pair.sharpe, alpha) if pair.sharpe else None,
        "sharpe_note": pair.sharpe_note,
        "reading": pair.reading,
    }


def _test_entry(test: SignificanceTest, alpha: float) -> dict[str, Any]:
    return {
        "statistic": _finite(test.statistic),
        "p_value": _finite(test.p_value),
        "observations": test.observations,
        "method": test.method,
        "significant": test.significant(alpha),
    }


def _json_value(value: Any) -> Any:
    """A parameter as JSON can hold it: strict JSON has no NaN (TOML allows `nan`), and a
    strategy's default may be any object (written as its str, like the HTML does)."""
    if isinstance(value, float):
        return _finite(value)
    return value if value is None or isinstance(value, bool | int | str) else str(value)


def _finite(value: float) -> float | None:
    """JSON has no NaN or infinity; an unbounded statistic is written as null."""
    return float(value) if math.isfinite(value) else None


def _write_atomic(path: Path, data: bytes) -> None:
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(data)
    os.replace(partial, path)
