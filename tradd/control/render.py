"""tradctl's human output: the status table, flatten and entry results (plain text, no deps)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

STATUS_COLUMNS = (
    "STRATEGY",
    "STATE",
    "UPTIME",
    "RESTARTS",
    "CONN",
    "POSITIONS",
    "P&L",
    "ACCT P&L TODAY",
    "ACCT EQUITY",
    "ACCT DD%",
    "BAR AGE",
    "RISK",
)
"""P&L is the strategy's own (realized + unrealized, from its fills); equity, today's P&L
and drawdown are the IB account's, which all strategies of the account share."""


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=False)]
    lines = [
        "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=False)).rstrip()
        for r in (header, *rows)
    ]
    return "\n".join(lines)


def status_text(result: dict[str, Any]) -> str:
    rows = [status_row(s) for s in result.get("strategies", [])]
    sup = result.get("supervisor", {})
    up = duration(sup.get("uptime"))
    head = f"tradd (pid {sup.get('pid')}, up {up}): {result.get('status_line', '')}"
    return head + "\n" + table(STATUS_COLUMNS, rows) if rows else head + "\n(no strategies)"


def status_row(s: dict[str, Any]) -> list[str]:
    w = s.get("worker") or {}
    positions = positions_text(w.get("positions") or {})
    known = w.get("last_known") or {}
    if positions == "-" and positions_text(known.get("positions") or {}) != "-":
        # not running: what it held when last heard from, which nothing watches now
        as_of = str(known.get("as_of") or "")[11:19] or "?"
        positions = f"{positions_text(known['positions'])} (as of {as_of})"
    risk = w.get("trading_state") or "-"
    if w.get("trading_reason") and risk != "ACTIVE":
        risk += f" ({w['trading_reason']})"
    state = s.get("state", "?")
    if state in ("BACKOFF", "FATAL", "EXITED") and s.get("reason"):
        state += f" ({s['reason']})"
    return [
        s.get("name", "?"),
        state,
        duration(s.get("uptime")),
        str(s.get("restarts", 0)),
        w.get("connection") or "-",
        positions,
        money(strategy_pnl(w)),
        money(w.get("daily_pnl")),
        money(w.get("equity")),
        number(w.get("drawdown_pct"), 2),
        duration(w.get("last_bar_age", bar_age(w.get("last_bar")))),
        risk,
    ]


def positions_text(positions: dict[str, Any]) -> str:
    return (
        " ".join(f"{sym}:{p.get('quantity', 0):g}" for sym, p in sorted(positions.items())) or "-"
    )


def flatten_text(result: dict[str, Any]) -> str:
    lines = []
    for name, r in sorted((result.get("strategies") or {}).items()):
        verdict = "FLAT" if r.get("ok") else "NOT CONFIRMED FLAT"
        lines.append(f"{name}: {verdict} via {r.get('path', '?')} - {r.get('message', '')}")
        for sym, p in sorted((r.get("symbols") or {}).items()):
            lines.append(
                f"  {sym}: {p.get('before', '?')} -> {p.get('after', '?')} ({p.get('result', '?')})"
            )
    sweep = result.get("sweep")
    if sweep:
        lines.append(
            f"account sweep: {'FLAT' if sweep.get('ok') else 'NOT FLAT'}"
            f" - {sweep.get('message', '')}"
        )
        for sym, p in sorted((sweep.get("symbols") or {}).items()):
            lines.append(
                f"  {sym}: {p.get('before', '?')} -> {p.get('after', '?')} ({p.get('result', '?')})"
            )
    lines.append("ALL FLAT" if result.get("ok") else "NOT ALL FLAT: check the positions now")
    return "\n".join(lines)


def duration(seconds: Any) -> str:
    if not isinstance(seconds, int | float):
        return "-"
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def money(value: Any) -> str:
    return f"{value:,.2f}" if isinstance(value, int | float) else "-"


def number(value: Any, digits: int) -> str:
    return f"{value:.{digits}f}" if isinstance(value, int | float) else "-"


def bar_age(stamp: Any) -> float | None:
    """Wall-clock age of an ISO bar time (when the worker does not report its own)."""
    if not isinstance(stamp, str):
        return None
    try:
        at = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    return max(0.0, (datetime.now(UTC) - at).total_seconds())


def strategy_pnl(worker: dict[str, Any]) -> float | None:
    realized, unrealized = worker.get("realized_pnl"), worker.get("unrealized_pnl")
    if not isinstance(realized, int | float):
        return None
    return realized + (unrealized if isinstance(unrealized, int | float) else 0.0)


def alerts_text(result: dict[str, Any]) -> str:
    if "deliveries" in result:  # alerts test
        lines = [
            f"test alert {result.get('id')}: "
            + ("DELIVERED" if result.get("ok") else "NOT DELIVERED")
        ]
        for channel, d in sorted((result.get("deliveries") or {}).items()):
            error = f" - {d['error']}" if d.get("error") else ""
            lines.append(
                f"  {channel}: {d.get('status')} after {d.get('attempts')} attempt(s){error}"
            )
        return "\n".join(lines)
    rows = [
        [
            str(a.get("id")),
            str(a.get("created_at", ""))[:19],
            a.get("severity", ""),
            a.get("kind", ""),
            a.get("strategy") or "-",
            str(a.get("subject", ""))[:60],
            " ".join(
                f"{d['channel']}:{d['status']}"
                + (f"({d['attempts']})" if d.get("attempts", 0) > 1 else "")
                for d in a.get("deliveries", [])
            )
            or "-",
        ]
        for a in result.get("alerts", [])
    ]
    header = ("ID", "CREATED", "SEVERITY", "KIND", "STRATEGY", "SUBJECT", "DELIVERIES")
    return table(header, rows) if rows else "(no alerts)"


def health_text(result: dict[str, Any]) -> str:
    verdict = "healthy" if result.get("ok") else "UNHEALTHY"
    extra = ", ".join(
        f"{k}: {', '.join(v)}" for k in ("not_running", "disconnected") if (v := result.get(k))
    )
    return f"{verdict}{' - ' + extra if extra else ''}"


def events_text(result: dict[str, Any]) -> str:
    lines = [
        f"{e['seq']:>5} {e['at']} {e['severity']:<8} {e['kind']}: {e['message']}"
        for e in result.get("events", [])
    ]
    return "\n".join(lines) or "(no events)"


def enter_text(result: dict[str, Any]) -> str:
    """`enter`: the order sent (its fill follows), or which gate and rules refused it."""
    get = result.get
    quantity = get("quantity")
    shares = f"{quantity:g}" if isinstance(quantity, int | float) else "?"
    what = f"{get('side', '?')} {shares} {get('symbol', '?')} for {get('strategy', '?')}"
    if get("status") == "executed":
        return (
            f"executed: {what} at ~{money(get('price'))} (value {money(get('value'))}), "
            f"order {get('order_ref')}"
        )
    lines = [f"BLOCKED: {what}: {get('reason', '')}"]
    lines += [f"  {r.get('rule')} ({r.get('action')}): {r.get('message')}"
              for r in get("rules") or []]  # fmt: skip
    return "\n".join(lines)


def reload_text(result: dict[str, Any]) -> str:
    return "reloaded: " + "; ".join(f"{k} {', '.join(v) or '-'}" for k, v in result.items())


RENDERERS: Mapping[str, Callable[[Any], str]] = MappingProxyType(
    {
        "status": status_text,
        "flatten": flatten_text,
        "health": health_text,
        "events": events_text,
        "reload": reload_text,
        "alerts": alerts_text,
        "enter": enter_text,
    }
)
