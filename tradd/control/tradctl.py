"""`tradctl`: control a running tradd.

    tradctl status [--json]             per strategy: state, uptime, restarts, connection,
                                        positions, today's P&L, equity, drawdown, bar age, risk
    tradctl health                      exit 0 when every enabled strategy is RUNNING
    tradctl flatten STRATEGY | --all    halt, cancel, close, confirm flat (stays halted)
    tradctl stop|start|restart STRATEGY
    tradctl pause STRATEGY              no new entries, exits still allowed
    tradctl resume STRATEGY
    tradctl reload                      re-read the configuration
    tradctl events [--since N]          the supervisor's recent events

Exit codes: 0 done; 1 the daemon refused or the command failed; 2 usage; 3 the daemon
is unreachable; 4 not flat (flatten) or unhealthy (health).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from tradd.control.client import Unreachable, call, environment, find_socket
from tradd.control.render import flatten_text, status_text

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_NOT_DONE = 0, 1, 2, 3, 4
LONG_COMMANDS = frozenset({"flatten", "stop", "restart", "reload"})


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="tradctl", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--socket", type=Path, help="control socket (default: from the config)")
    p.add_argument("--config", type=Path, help="tradd.toml to find the socket in")
    p.add_argument("--json", action="store_true", help="print the raw JSON reply")
    p.add_argument(
        "--timeout",
        type=float,
        help="seconds to wait (default 10; 300 for flatten, stop, restart, reload)",
    )
    sub = p.add_subparsers(dest="cmd", required=True, metavar="COMMAND")
    for name in ("status", "health", "reload"):
        sub.add_parser(name)
    events = sub.add_parser("events")
    events.add_argument("--since", type=int, default=0)
    for name in ("stop", "start", "restart", "pause", "resume"):
        sub.add_parser(name).add_argument("strategy")
    flatten = sub.add_parser("flatten")
    target = flatten.add_mutually_exclusive_group(required=True)
    target.add_argument("strategy", nargs="?")
    target.add_argument("--all", action="store_true", help="every strategy, then the account")
    return p


def request_args(ns: argparse.Namespace) -> dict[str, Any]:
    if ns.cmd == "flatten":
        return {"all": True} if ns.all else {"strategy": ns.strategy}
    if ns.cmd == "events":
        return {"since": ns.since}
    return {"strategy": ns.strategy} if getattr(ns, "strategy", None) else {}


def main(argv: list[str] | None = None) -> int:
    try:
        ns = parser().parse_args(argv)
    except SystemExit as exc:
        return EXIT_USAGE if exc.code else EXIT_OK
    environ = environment()
    timeout = ns.timeout or (300.0 if ns.cmd in LONG_COMMANDS else 10.0)
    try:
        path = find_socket(ns.socket, ns.config, environ)
        reply = call(path, ns.cmd, request_args(ns), timeout)
    except ValueError as exc:
        print(f"tradctl: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Unreachable as exc:
        print(f"tradctl: {exc}", file=sys.stderr)
        return EXIT_UNREACHABLE
    return report(ns, reply)


def report(ns: argparse.Namespace, reply: dict[str, Any]) -> int:
    if ns.json:
        print(json.dumps(reply, indent=2))
    if not reply.get("ok"):
        error = reply.get("error") or {}
        print(
            f"tradctl: {ns.cmd} failed: [{error.get('code')}] {error.get('message')}",
            file=sys.stderr,
        )
        for detail in error.get("details") or []:
            print(f"  {detail}", file=sys.stderr)
        return EXIT_FAILED
    result = reply.get("result")
    if not ns.json:
        print(human(ns.cmd, result))
    if ns.cmd in ("flatten", "health") and not (isinstance(result, dict) and result.get("ok")):
        return EXIT_NOT_DONE
    return EXIT_OK


def human(cmd: str, result: Any) -> str:
    if cmd == "status":
        return status_text(result)
    if cmd == "flatten":
        return flatten_text(result)
    if cmd == "health":
        verdict = "healthy" if result.get("ok") else "UNHEALTHY"
        extra = ", ".join(
            f"{k}: {', '.join(v)}" for k in ("not_running", "disconnected") if (v := result.get(k))
        )
        return f"{verdict}{' - ' + extra if extra else ''}"
    if cmd == "events":
        return (
            "\n".join(
                f"{e['seq']:>5} {e['at']} {e['severity']:<8} {e['kind']}: {e['message']}"
                for e in result.get("events", [])
            )
            or "(no events)"
        )
    if cmd == "reload":
        return "reloaded: " + "; ".join(f"{k} {', '.join(v) or '-'}" for k, v in result.items())
    return (
        " ".join(f"{k}={v}" for k, v in result.items()) if isinstance(result, dict) else str(result)
    )


if __name__ == "__main__":
    sys.exit(main())
