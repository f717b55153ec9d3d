"""`tradctl proposals list|show ID|approve ID|reject ID|rollback STRATEGY` (standard
library only, like the rest of tradctl).

list and show ask the daemon's `proposals` command; approve, reject and rollback its
`promote` command, naming the unix user (`tradctl:<user>`) for the audit and the alert.
"""

from __future__ import annotations

import argparse
import getpass
from typing import Any

DECISIONS = frozenset({"approve", "reject", "rollback"})
EVIDENCE = ("oos_sharpe", "oos_psr", "efficiency", "pbo", "stability", "in_sample_sharpe",
            "deflated_sharpe")  # fmt: skip


def add_parser(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    """The `proposals` subcommand and its actions."""
    actions = sub.add_parser("proposals", parents=parents).add_subparsers(
        dest="action", required=True
    )
    listing = actions.add_parser("list", parents=parents)
    listing.add_argument("--strategy")
    listing.add_argument("--state")
    listing.add_argument("--limit", type=int, default=20)
    for name in ("show", "approve", "reject"):
        actions.add_parser(name, parents=parents).add_argument("id", type=int)
    actions.add_parser("rollback", parents=parents).add_argument("strategy")


def command(ns: argparse.Namespace) -> str:
    """The daemon command an action is."""
    return "promote" if ns.action in DECISIONS else "proposals"


def request(ns: argparse.Namespace) -> dict[str, Any]:
    if ns.action == "list":
        found = {"strategy": ns.strategy, "state": ns.state, "limit": ns.limit}
        return {"action": "list", **{k: v for k, v in found.items() if v is not None}}
    if ns.action == "rollback":
        return {"action": "rollback", "strategy": ns.strategy, "requested_by": requested_by()}
    args: dict[str, Any] = {"action": ns.action, "id": ns.id}
    return {**args, "requested_by": requested_by()} if ns.action in DECISIONS else args


def requested_by() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"tradctl:{user}"[:32]


def render(result: Any) -> str:
    if not isinstance(result, dict):
        return str(result)
    if "proposals" in result:
        rows = [_row(p) for p in result["proposals"]]
        return _table(("ID", "STRATEGY", "CREATED", "KIND", "STATE", "GATES", "PARAMS"), rows)
    if "action" in result:
        return _decision(result)
    return _detail(result)


def _row(p: dict[str, Any]) -> list[str]:
    gates = (
        "pass"
        if p.get("passed")
        else "FAIL " + ",".join(g["name"] for g in p.get("gates", []) if not g.get("passed"))
    )
    return [str(p.get("id")), str(p.get("strategy")), str(p.get("created_at", ""))[:19],
            str(p.get("kind")), str(p.get("state")), gates, _params(p.get("params"))]  # fmt: skip


def _decision(r: dict[str, Any]) -> str:
    if r["action"] == "reject":
        return f"proposal {r.get('proposal')} for {r.get('strategy')} rejected by {r.get('by')}"
    what = "applied" if r["action"] == "apply" else "rolled back"
    return (f"proposal {r.get('proposal')} {what}: {r.get('strategy')} now runs parameter "
            f"version {r.get('version')} {_params(r.get('params'))} "
            f"({r.get('params_file')}, by {r.get('by')})")  # fmt: skip


def _detail(p: dict[str, Any]) -> str:
    e = p.get("evidence") or {}
    lines = [
        f"proposal {p.get('id')} for {p.get('strategy')} ({p.get('strategy_class')}): "
        f"{p.get('state')}" + (f" by {p['decided_by']}" if p.get("decided_by") else ""),
        f"  from {p.get('kind')} run {p.get('run_id') or '-'}, period "
        f"{e.get('period_from')}..{e.get('period_to')} on {', '.join(e.get('symbols') or [])}",
        f"  params: {_params(p.get('params'))}",
        "  evidence: " + ", ".join(f"{k} {_num(e.get(k))}" for k in EVIDENCE),
    ]
    for g in p.get("gates") or []:
        verdict = "pass" if g.get("passed") else "FAIL"
        lines.append(f"  gate {g.get('name')}: {_num(g.get('value'))} (limit {g.get('limit')}) "
                     f"{verdict}")  # fmt: skip
    if p.get("version") is not None:
        lines.append(f"  parameter version {p['version']}")
    if p.get("note"):
        lines.append(f"  note: {p['note']}")
    return "\n".join(lines)


def _params(params: Any) -> str:
    if not isinstance(params, dict):
        return "-"
    return " ".join(f"{k}={v}" for k, v in params.items()) or "-"


def _num(value: Any) -> str:
    return "-" if value is None else f"{value:.3g}" if isinstance(value, float) else str(value)


def _table(header: tuple[str, ...], rows: list[list[str]]) -> str:
    if not rows:
        return "(no proposals)"
    widths = [max(len(c) for c in col) for col in zip(header, *rows, strict=False)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)).rstrip()
                     for r in (list(header), *rows))  # fmt: skip
