"""The downloads of an optimize, walk-forward or compare job, from the files its command
wrote.

- `best.toml`: the optimization's `best_params.toml` as written; for a walk-forward, the
  last window's best parameters (what it would trade next) in the same shape, so either
  is a `params_file` for a strategy in tradd.toml. A comparison has none.
- `results.json`: `optimization.json` / `walkforward.json` / `comparison.json` as written.
- `results.csv`: `results.csv` (every trial) / `walkforward.csv` (every window) /
  `comparison.returns.csv` (each strategy's period returns).
- `report.html`: one self-contained page (the charts embedded) made from the results the
  API answers, every text in it escaped; a comparison's is the command's own report.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path
from typing import Any

import tomli_w

from tradd.web.jobs.compare_views import compare_file
from tradd.web.jobs.research_views import CSV_FILES, RESULT_FILES, read_document
from tradd.web.records import JobKind
from tradd.web.research_records import ResearchResults

CHARTS = ("heatmap.png", "optimization_history.png", "param_importance.png", "is_vs_oos.png",
          "oos_equity.png")  # fmt: skip


class Download(StrEnum):
    BEST = "best.toml"
    JSON = "results.json"
    CSV = "results.csv"
    REPORT = "report.html"


MEDIA = {Download.BEST: "application/toml", Download.JSON: "application/json",
         Download.CSV: "text/csv", Download.REPORT: "text/html"}  # fmt: skip


class NotAvailable(LookupError):
    """The job has no such file (yet); the message says why."""


def download(kind: JobKind, output: Path, name: Download, results: ResearchResults) -> bytes:
    if read_document(kind, output) is None:
        raise NotAvailable(f"{name.value}: the job has written no report (yet)")
    if kind is JobKind.COMPARE:
        path = compare_file(output, name.value)
        if path is None:
            raise NotAvailable(f"{name.value}: a comparison has no best parameters")
        return _read(path, name)
    if name is Download.JSON:
        return _read(output / RESULT_FILES[kind], name)
    if name is Download.CSV:
        return _read(output / CSV_FILES[kind], name)
    if name is Download.BEST:
        if kind is JobKind.OPTIMIZE:
            return _read(output / "best_params.toml", name)
        return _walkforward_best(results)
    return report_html(results, output).encode()


def _read(path: Path, name: Download) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        raise NotAvailable(f"{name.value}: the job did not write {path.name}") from None


def _walkforward_best(results: ResearchResults) -> bytes:
    if not results.windows or results.best_params is None:
        raise NotAvailable("best.toml: no walk-forward window finished")
    last = results.windows[-1]
    document = {
        "strategy": results.strategy,
        "params": results.best_params,
        "source": {"walkforward": results.job_id, "window": last.get("index"),
                   "in_sample": f"{last.get('is_start')}..{last.get('is_end')}",
                   "objective": results.objective, "symbols": results.symbols},
    }  # fmt: skip
    header = (
        "# The last walk-forward window's best parameters (tradd web). A strategy in\n"
        '# tradd.toml can use them with params_file = "<this file>".\n'
    )
    warnings = results.overfitting.warnings if results.overfitting else []
    header += "".join(f"# Warning: {w}\n" for w in warnings)
    return (header + tomli_w.dumps(_plain(document))).encode()


def _plain(value: Any) -> Any:
    """TOML has no null: drop the missing values."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if v is not None}
    return value


STYLE = """body{font:14px/1.45 system-ui,sans-serif;color:#1d2330;max-width:1100px;margin:2em auto;
padding:0 1em}table{border-collapse:collapse;margin:.5em 0 1.5em}th,td{padding:.3em .6em;
border-bottom:1px solid #dde1e7;text-align:right}th:first-child,td:first-child{text-align:left}
.warn{background:#fdecc8;color:#a15c00;padding:.5em .8em;border-radius:4px;margin:.3em 0}
img{max-width:100%;border:1px solid #dde1e7;margin:.5em 0}.muted{color:#6b7280}"""


def report_html(results: ResearchResults, output: Path) -> str:
    """A page a trader can keep or mail: what ran, the best, the leaderboard or windows,
    the overfitting figures with their warnings, and the command's charts."""
    r = results
    title = f"{r.kind.value} {r.job_id}: {r.strategy or ''}"
    parts = [f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{_e(title)}"
             f"</title><style>{STYLE}</style></head><body><h1>{_e(title)}</h1>"]  # fmt: skip
    parts.append(_table(["", ""], [
        ["symbols", ", ".join(r.symbols)], ["period", f"{r.start} .. {r.end}"],
        ["method", r.method], ["objective", r.objective], ["status", r.status.value],
        ["best parameters", json.dumps(r.best_params)], ["best value", _n(r.best_value)],
    ]))  # fmt: skip
    if r.note:
        parts.append(f"<p class=warn>{_e(r.note)}</p>")
    if r.overfitting is not None:
        parts.append("<h2>Overfitting</h2>")
        parts += [f"<p class=warn>Warning: {_e(w)}</p>" for w in r.overfitting.warnings]
        parts += [f"<p class=muted>{_e(n)}</p>" for n in r.overfitting.notes]
        parts.append(_table(["figure", "value"], [[k, _compact(v)] for k, v in
                                                  r.overfitting.figures.items()]))  # fmt: skip
    if r.leaderboard:
        names = list(r.leaderboard[0].params)
        parts.append("<h2>Leaderboard</h2>")
        parts.append(
            _table(
                [
                    "rank",
                    *names,
                    r.objective or "objective",
                    "return %",
                    "max dd %",
                    "trades",
                ],
                [
                    [
                        row.rank,
                        *(row.params.get(n) for n in names),
                        _n(row.objective),
                        _n(row.metrics.get("total_return")),
                        _n(row.metrics.get("max_drawdown")),
                        row.metrics.get("total_trades"),
                    ]
                    for row in r.leaderboard
                ],
            )
        )
    if r.windows:
        names = r.varying or list(r.windows[0].get("best_params") or {})
        parts.append("<h2>Windows</h2>")
        parts.append(_table(
            ["#", "in sample", "out of sample", *names, "IS Sharpe", "OOS Sharpe", "degr.",
             "OOS ret %", "PBO"],
            [[w.get("index"), f"{w.get('is_start')}..{w.get('is_end')}",
              f"{w.get('oos_start')}..{w.get('oos_end')}",
              *((w.get("best_params") or {}).get(n) for n in names), _n(w.get("is_sharpe")),
              _n(w.get("oos_sharpe")), _n(w.get("degradation")), _n(w.get("oos_return")),
              _n(w.get("pbo"))] for w in r.windows]))  # fmt: skip
    if r.summary:
        parts.append("<h2>Summary</h2>")
        parts.append(_table(["statistic", "value"],
                            [[k, _compact(v)] for k, v in r.summary.items()]))  # fmt: skip
    for chart in CHARTS:
        path = output / chart
        if path.exists():
            data = base64.b64encode(path.read_bytes()).decode()
            parts.append(f'<h2>{_e(chart)}</h2><img alt="{_e(chart)}" '
                         f'src="data:image/png;base64,{data}">')  # fmt: skip
    parts.append("</body></html>\n")
    return "".join(parts)


def _table(head: Iterable[Any], rows: Iterable[Iterable[Any]]) -> str:
    cells = "".join(f"<th>{_e(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{cells}</tr>{body}</table>"


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _n(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, int | float) and not isinstance(value, bool) else (
        "-" if value is None else str(value))  # fmt: skip


def _compact(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict | list):
        return json.dumps(value, default=str)[:400]
    return "-" if value is None else str(value)
