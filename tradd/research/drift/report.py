"""drift.json and drift.html: the figures, every signal, and live and replay on one chart.

The HTML is one self-contained file (inline CSS, the chart as a data URI, no script),
so it can be mailed as the scheduled job's report; all outside text is escaped.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

import numpy as np

from tradd.jsonsafe import finite
from tradd.research.compare.html import CSS
from tradd.research.drift.attribute import Attribution, Verdict

JSON_FILE = "drift.json"
HTML_FILE = "drift.html"
Curve = Sequence[tuple[datetime, float]]


def document(
    header: Mapping[str, Any], attribution: Attribution, curves: Mapping[str, Curve]
) -> dict[str, Any]:
    a = attribution
    return {
        **header,
        "live_pnl": a.live_pnl,
        "replay_pnl": a.replay_pnl,
        "drift_pnl": a.drift,
        "components": dict(a.components),
        "signals": {
            "matched": sum(v.kind == "matched" for v in a.verdicts),
            "missed": sum(v.kind == "missed" for v in a.verdicts),
            "added": sum(v.kind == "added" for v in a.verdicts),
            "unfilled": sum(v.kind == "unfilled" for v in a.verdicts),
        },
        "fills": [_row(v) for v in a.verdicts],
        "curves": {name: [[t.isoformat(), v] for t, v in c] for name, c in curves.items()},
    }


def _row(v: Verdict) -> dict[str, Any]:
    p = v.pair
    live = p.live
    replay = p.replay
    return {
        "bar": p.bar_start.isoformat(), "symbol": p.symbol, "side": p.side, "kind": v.kind,
        "cause": v.cause, "effect": v.effect, "slippage_bps": v.slippage_bps,
        "delay_seconds": v.delay_seconds,
        "live": None if live is None else {
            "order_ref": live.order_ref, "status": live.status, "quantity": live.quantity,
            "filled": live.filled, "price": live.price, "commission": live.commission,
            "filled_at": live.filled_at.isoformat() if live.filled_at else None,
            "latency_ms": live.latency_ms, "reason": live.reason,
        },
        "replay": None if replay is None else {
            "status": replay.status, "quantity": replay.quantity, "filled": replay.filled,
            "price": replay.price, "commission": replay.commission,
        },
    }  # fmt: skip


def write(output: Path, doc: Mapping[str, Any], curves: Mapping[str, Curve]) -> Path:
    output.mkdir(parents=True, exist_ok=True)
    (output / JSON_FILE).write_text(json.dumps(finite(dict(doc)), indent=2) + "\n")
    html = output / HTML_FILE
    html.write_text(render(doc, _chart(curves, f"{doc['strategy']}: live and replayed equity")))
    return html


def _chart(curves: Mapping[str, Curve], title: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10.0, 4.5))
    for name, curve in curves.items():
        if curve:
            times = np.array([t.astimezone(UTC).replace(tzinfo=None) for t, _ in curve],
                             dtype="datetime64[s]")  # fmt: skip
            ax.step(times, [v for _, v in curve], where="post", linewidth=1.2, label=name)
    ax.set_title(title)
    ax.set_ylabel("equity (marked at each bar's close)")
    ax.legend(loc="best")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return buffer.getvalue()


def render(doc: Mapping[str, Any], chart: bytes) -> str:
    title = f"Drift of {doc['strategy']}: live against its replay"
    meta = (
        f"{', '.join(doc['symbols'])} · {doc['period']['from']} to {doc['period']['to']} · "
        f"{doc['bars']['live']} live bars · strategy {doc['strategy_path']}"
    )
    summary = [
        ("Live P&L", doc["live_pnl"]), ("Replayed P&L", doc["replay_pnl"]),
        ("Drift (live - replay)", doc["drift_pnl"]),
        *((f"· {cause}", value) for cause, value in doc["components"].items()),
    ]  # fmt: skip
    rows = "".join(
        f"<tr><td>{escape(name)}</td><td class='num'>{value:,.2f}</td></tr>"
        for name, value in summary
    )
    data = base64.b64encode(chart).decode("ascii")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f'<p class="meta">{escape(meta)}</p>',
        f"<table><tr><th>P&amp;L</th><th>amount</th></tr>{rows}</table>",
        f'<img alt="live and replayed equity" src="data:image/png;base64,{data}">',
        "<h2>Signals and fills</h2>",
        _fills_table(doc["fills"]),
        _offline(doc["offline"]),
        _attribution(doc.get("attribution")),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _fills_table(fills: Sequence[Mapping[str, Any]]) -> str:
    head = ("bar", "symbol", "side", "kind", "cause", "live", "replay", "bps", "delay s", "effect")
    out = ["<table><tr>", *(f"<th>{h}</th>" for h in head), "</tr>"]
    for f in fills:
        cells = (
            f["bar"], f["symbol"], f["side"], f["kind"], f["cause"] or "",
            _side(f["live"]), _side(f["replay"]), _num(f["slippage_bps"]),
            _num(f["delay_seconds"]), _num(f["effect"]),
        )  # fmt: skip
        out.append("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in cells) + "</tr>")
    out.append("</table>")
    return "".join(out)


def _side(side: Mapping[str, Any] | None) -> str:
    if side is None:
        return "-"
    price = f" @ {side['price']:.4f}" if side.get("price") is not None else ""
    return f"{side['status']} {side['filled']:g}/{side['quantity']:g}{price}"


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:,.2f}"


def _offline(periods: Sequence[Mapping[str, Any]]) -> str:
    if not periods:
        return "<p class='note'>No time offline in the period.</p>"
    items = "".join(
        f"<li>{escape(p['symbol'])}: {escape(p['from'])} to {escape(p['to'])} ({p['bars']} bars,"
        f" {escape(p['how'])})</li>"
        for p in periods
    )
    return f"<h2>Offline</h2><ul>{items}</ul>"


def _attribution(found: Mapping[str, Any] | None) -> str:
    """The account's strategies over the period, and the P&L none of them explains."""
    if not found:
        return ""
    head = ("strategy", "trades", "realized", "unrealized change", "commissions", "net")
    out = ["<h2>The account over the period, per strategy</h2><table><tr>"]
    out += [f"<th>{h}</th>" for h in head] + ["</tr>"]
    for s in found["strategies"]:
        cells = (s["trades"], s["realized_pnl"], s["unrealized_change"], s["commission"],
                 s["net_pnl"])  # fmt: skip
        numbers = "".join(f"<td class='num'>{_num(c)}</td>" for c in cells)
        out.append(f"<tr><td>{escape(s['strategy'])}</td>{numbers}</tr>")
    account = found["account"]
    out.append("</table>")
    out.append(
        f"<p>Account P&amp;L {_num(account['pnl'])}; the strategies explain "
        f"{_num(account['strategies_pnl'])}; not explained by any strategy (manual trades, "
        f"fees, interest): {_num(account['unexplained'])}.</p>"
    )
    return "".join(out)
