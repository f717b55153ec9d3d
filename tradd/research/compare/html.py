"""The comparison as one self-contained HTML page: inline CSS, charts as data URIs.

Self-contained so it can be mailed, archived or printed to PDF without a server or the
network; no script, so it renders the same everywhere. Every piece of text that comes
from outside (strategy names, parameters, paths) is escaped.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from datetime import datetime
from html import escape

from tradd.research.compare.analysis import Comparison, PairTest
from tradd.research.compare.runner import StrategyRun
from tradd.research.metrics import Metrics

METRIC_COLUMNS: tuple[tuple[str, str, Callable[[Metrics], str]], ...] = (
    ("total_return", "Return %", lambda m: f"{m.total_return:.2f}"),
    ("cagr", "CAGR %", lambda m: f"{m.cagr:.2f}"),
    ("sharpe", "Sharpe", lambda m: f"{m.sharpe:.3f}"),
    ("sortino", "Sortino", lambda m: f"{m.sortino:.3f}"),
    ("calmar", "Calmar", lambda m: f"{m.calmar:.3f}"),
    ("max_drawdown", "Max DD %", lambda m: f"{m.max_drawdown:.2f}"),
    ("win_rate", "Win rate %", lambda m: f"{m.win_rate:.1f}"),
    ("total_trades", "Trades", lambda m: str(m.total_trades)),
    ("exposure", "Exposure %", lambda m: f"{m.exposure:.1f}"),
    ("profit_factor", "Profit factor", lambda m: f"{m.profit_factor:.2f}"),
)

CSS = """
@page { size: A4 landscape; margin: 12mm; }
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; color: #1f2328;
       margin: 24px auto; max-width: 1100px; font-size: 14px; line-height: 1.45; }
h1 { font-size: 24px; margin-bottom: 4px; }
h2 { font-size: 18px; margin-top: 28px; border-bottom: 1px solid #d0d7de; }
.meta, .note { color: #57606a; }
table { border-collapse: collapse; width: 100%; margin: 8px 0; }
th, td { border: 1px solid #d0d7de; padding: 4px 8px; vertical-align: top; }
th { background: #f6f8fa; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.best td { background: #eef8ee; }
td.yes { color: #1a7f37; font-weight: bold; }
code { font-size: 12px; }
img { max-width: 100%; height: auto; display: block; margin: 8px 0; }
h2 { break-after: avoid; }
tr, img, section.chart { break-inside: avoid; }
"""


def render(comparison: Comparison, charts: Mapping[str, bytes], generated_at: datetime) -> str:
    """`charts`: title -> PNG bytes, shown in that order."""
    c = comparison
    title = f"Strategy comparison on {', '.join(c.symbols)}"
    meta = (
        f"{', '.join(c.symbols)} · {c.bar} bars · {c.start} to {c.end} · "
        f"starting cash {c.initial_cash:,.2f} · risk-free rate {c.risk_free_rate:.2%} · "
        f"generated {generated_at.isoformat(timespec='seconds')}"
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f'<p class="meta">{escape(meta)}</p>',
        "<h2>Ranking by Sharpe ratio</h2>",
        _metrics_table(c.runs),
        "<h2>Parameters</h2>",
        _params_table(c.runs),
        "<h2>Are the differences significant?</h2>",
        _tests_table(c),
        f'<p class="note">{escape(_tests_note(c.alpha))}</p>',
        *(_figure(name, png) for name, png in charts.items()),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _metrics_table(runs: tuple[StrategyRun, ...]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in ("Rank", "Strategy"))
    head += "".join(f"<th>{escape(label)}</th>" for _, label, _ in METRIC_COLUMNS)
    rows = []
    for rank, run in enumerate(runs, start=1):
        cells = "".join(
            f'<td class="num">{escape(fmt(run.metrics))}</td>' for *_, fmt in METRIC_COLUMNS
        )
        css = ' class="strategy best"' if rank == 1 else ' class="strategy"'
        rows.append(
            f'<tr{css}><td class="num">{rank}</td>'
            f"<td>{escape(run.contender.label)}</td>{cells}</tr>"
        )
    return (
        f'<table id="metrics"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    )


def _params_table(runs: tuple[StrategyRun, ...]) -> str:
    rows = []
    for run in runs:
        k = run.contender
        params = json.dumps(k.params, sort_keys=False, default=str)
        source = k.params_source or "strategy defaults"
        rows.append(
            f"<tr><td>{escape(k.label)}</td><td><code>{escape(k.path)}</code></td>"
            f"<td><code>{escape(params)}</code></td><td>{escape(source)}</td></tr>"
        )
    head = "<tr><th>Strategy</th><th>Class</th><th>Parameters</th><th>From</th></tr>"
    return f'<table id="params"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'


def _tests_table(c: Comparison) -> str:
    head = (
        "<tr><th>Pair</th><th>Mean daily return difference (pp)</th><th>t</th><th>p</th>"
        "<th>Sharpe z</th><th>p</th><th>Reading</th></tr>"
    )
    rows = [_test_row(pair, c.alpha) for pair in c.pairs]
    return f'<table id="tests"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'


def _test_row(pair: PairTest, alpha: float) -> str:
    t = pair.paired_t
    s = pair.sharpe
    cells = [
        f"<td>{escape(pair.first)} vs {escape(pair.second)}</td>",
        f'<td class="num">{pair.mean_difference:+.4f}</td>',
        f'<td class="num">{t.statistic:.3f}</td>',
        _p_cell(t.p_value, alpha),
        f'<td class="num">{s.statistic:.3f}</td>' if s else '<td class="num">n/a</td>',
        _p_cell(s.p_value, alpha) if s else f"<td>{escape(pair.sharpe_note or '')}</td>",
        f"<td>{escape(pair.reading)}</td>",
    ]
    return f'<tr class="pair">{"".join(cells)}</tr>'


def _p_cell(p: float, alpha: float) -> str:
    css = "num yes" if p < alpha else "num"
    text = "< 0.001" if p < 0.001 else f"{p:.3f}"
    return f'<td class="{css}">{escape(text)}</td>'


def _tests_note(alpha: float) -> str:
    return (
        f"Two-sided tests on the daily returns of the same days, at the {alpha:.0%} level "
        "(a p-value in bold is below it). The paired t-test asks whether the mean daily "
        "returns differ; the Jobson-Korkie test with Memmel's correction asks whether the "
        "Sharpe ratios do. A difference that is not significant may be luck: do not choose "
        "on the ranking alone. With many pairs, some will look significant by chance."
    )


def _figure(name: str, png: bytes) -> str:
    data = base64.b64encode(png).decode("ascii")
    return (
        f'<section class="chart"><h2>{escape(name)}</h2>'
        f'<img alt="{escape(name, quote=True)}" src="data:image/png;base64,{data}"></section>'
    )
