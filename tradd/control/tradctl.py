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
    tradctl alerts test [--channel C]   send a test alert (email, sms, webhook) and report
    tradctl alerts list [--limit N]     recent alerts and their delivery state
    tradctl proposals list|show ID|approve ID|reject ID|rollback STRATEGY
                                        parameter proposals (docs/promotion.md)
    tradctl schedules list              [[schedules]]: when, last run and its job, next run
    tradctl schedules run NAME          run a schedule now (a manual run); prints its job id
    tradctl enter STRATEGY SYMBOL BUY|SELL (--quantity N | --value X) [--client-ref R]
                                        a market order through the strategy's worker:
                                        risk-checked, persisted, then owned by the strategy;
                                        SELL may open or flip to a short (the risk gate
                                        decides, as for the strategy's own orders)

Every command takes --json (before or after it): print the daemon's raw JSON reply.

Exit codes: 0 done (enter: executed, i.e. sent; the fill follows); 1 the daemon refused or
the command failed (enter: blocked by the trading or risk gate, or refused); 2 usage; 3 the
daemon is unreachable; 4 not flat (flatten), unhealthy (health) or not delivered (alerts
test). An `enter` whose outcome is unknown (a timeout after it was sent: exit 3 or 1) says
so with its client_ref (one is made up when not given): repeating it with that
--client-ref answers its outcome and never places it twice.
"""

from __future__ import annotations

import argparse
import json
import math
import secrets
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tradd.control import proposals_cli, schedule_cli
from tradd.control.client import Unreachable, call, environment, find_socket
from tradd.control.protocol import ErrorCode
from tradd.control.render import RENDERERS
from tradd.records.entry import SIDES, EntryArgs, amount_problem, text_problem

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_NOT_DONE = 0, 1, 2, 3, 4
LONG_COMMANDS = frozenset({"flatten", "stop", "restart", "reload", "alerts", "proposals"})
NOT_SENT = (FileNotFoundError, ConnectionRefusedError, PermissionError)
"""Why a connection failed before a request could be sent (`Unreachable.__context__`)."""
UNKNOWN_OUTCOME = frozenset({ErrorCode.TIMEOUT, ErrorCode.INTERNAL})
"""Error codes after which an `enter` may have been placed (as may any that says so)."""


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
        help="seconds to wait (default 10; 30 for enter; 300 for flatten, stop, restart, reload)",
    )
    json_too = [json_option()]
    sub = p.add_subparsers(dest="cmd", required=True, metavar="COMMAND")
    for name in ("status", "health", "reload"):
        sub.add_parser(name, parents=json_too)
    events = sub.add_parser("events", parents=json_too)
    events.add_argument("--since", type=int, default=0)
    for name in ("stop", "start", "restart", "pause", "resume"):
        sub.add_parser(name, parents=json_too).add_argument("strategy")
    alerts = sub.add_parser("alerts", parents=json_too).add_subparsers(dest="action", required=True)
    alerts_test = alerts.add_parser("test", parents=json_too)
    alerts_test.add_argument("--channel", choices=("email", "sms", "webhook"))
    alerts.add_parser("list", parents=json_too).add_argument("--limit", type=int, default=20)
    schedule_cli.add_parser(sub, json_too)
    enter = sub.add_parser(
        "enter",
        parents=json_too,
        description="A market order through STRATEGY's worker: trading gate, risk gate, "
        "ledger, IB; the strategy then owns the position. SELL is not only an exit: with "
        "no position it opens a short, and one larger than a long flips it short (allowed "
        "when the strategy's risk rules allow it). Exit 0: executed (sent; the fill "
        "follows); 1: blocked by a gate, or refused (the reason is printed).",
    )
    enter.add_argument("strategy")
    enter.add_argument("symbol", type=str.upper)
    enter.add_argument("side", type=str.upper, choices=SIDES,
                       help="BUY, or SELL (may open or flip to a short)")  # fmt: skip
    amount = enter.add_mutually_exclusive_group(required=True)
    amount.add_argument("--quantity", type=entry_amount("quantity"), help="whole shares")
    amount.add_argument("--value", type=entry_amount("value"),
                        help="money: floor(value / last price) shares")  # fmt: skip
    enter.add_argument("--client-ref", type=entry_text,
                       help="repeat-safe id: the same ref is placed once (default: a new "
                       "one, printed if the outcome is unknown)")  # fmt: skip
    proposals_cli.add_parser(sub, json_too)
    flatten = sub.add_parser("flatten", parents=json_too)
    target = flatten.add_mutually_exclusive_group(required=True)
    target.add_argument("strategy", nargs="?")
    target.add_argument("--all", action="store_true", help="every strategy, then the account")
    return p


def json_option() -> argparse.ArgumentParser:
    """`--json` after the command too (`tradctl status --json`, as documented), not only
    before it; absent there, the value given before the command stands."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="print the raw JSON reply")  # fmt: skip
    return common


def entry_amount(name: str) -> Callable[[str], float]:
    """The argument type of `enter --NAME`: checked as the daemon checks it, before any
    connection (NaN and inf would reach the daemon as null)."""

    def parse(text: str) -> float:
        try:
            amount = float(text)
        except ValueError:
            amount = math.nan
        problem = amount_problem(name, amount)
        if problem is not None:
            raise argparse.ArgumentTypeError(f"{problem}, got {text!r}")
        return amount

    return parse


def entry_text(text: str) -> str:
    problem = text_problem(text)
    if problem is not None:
        raise argparse.ArgumentTypeError(f"{problem}, got {text!r}")
    return text


def request_args(ns: argparse.Namespace) -> dict[str, Any]:
    own = {"proposals": proposals_cli.request, "schedules": schedule_cli.request_args}
    if ns.cmd in own:
        return own[ns.cmd](ns)
    if ns.cmd == "flatten":
        return {"all": True} if ns.all else {"strategy": ns.strategy}
    if ns.cmd == "events":
        return {"since": ns.since}
    if ns.cmd == "enter":
        return {"strategy": ns.strategy, **entry_args(ns).as_args()}
    if ns.cmd == "alerts":
        extra = {"channel": ns.channel} if ns.action == "test" and ns.channel else {}
        return {
            "action": ns.action,
            **extra,
            **({"limit": ns.limit} if ns.action == "list" else {}),
        }
    return {"strategy": ns.strategy} if getattr(ns, "strategy", None) else {}


def entry_args(ns: argparse.Namespace) -> EntryArgs:
    """`enter`'s arguments (each checked by its argparse type already)."""
    return EntryArgs(ns.symbol, ns.side, ns.quantity, ns.value, client_ref=ns.client_ref)


def main(argv: list[str] | None = None) -> int:
    try:
        ns = parser().parse_args(argv)
    except SystemExit as exc:
        return EXIT_USAGE if exc.code else EXIT_OK
    environ = environment()
    timeout = ns.timeout or (
        300.0 if ns.cmd in LONG_COMMANDS else 30.0 if ns.cmd == "enter" else 10.0
    )
    if ns.cmd == "enter" and not ns.client_ref:  # always repeat-safe: a timeout can be asked
        ns.client_ref = f"tradctl-{secrets.token_hex(6)}"
    args = request_args(ns)
    try:
        path = find_socket(ns.socket, ns.config, environ)
        cmd = proposals_cli.command(ns) if ns.cmd == "proposals" else ns.cmd
        reply = call(path, cmd, args, timeout)
    except ValueError as exc:
        print(f"tradctl: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Unreachable as exc:
        print(f"tradctl: {exc}", file=sys.stderr)
        if ns.cmd == "enter" and not isinstance(exc.__context__, NOT_SENT):
            unknown_outcome(ns.client_ref)
        return EXIT_UNREACHABLE
    code = report(ns, reply)
    if ns.cmd == "enter" and may_be_placed(reply.get("error")):
        unknown_outcome(ns.client_ref)
    return code


def may_be_placed(error: Any) -> bool:
    """Whether an `enter` error leaves its outcome unknown (a refusal placed nothing)."""
    if not isinstance(error, dict):
        return False
    said = str(error.get("message"))
    unknown = error.get("code") in UNKNOWN_OUTCOME and "nothing placed" not in said
    return unknown or "may have been placed" in said


def unknown_outcome(ref: str) -> None:
    print(f"tradctl: the entry may have been placed. Repeat it with --client-ref {ref} to "
          "learn its outcome: it is never placed twice", file=sys.stderr)  # fmt: skip


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
    checked = ns.cmd in ("flatten", "health") or (ns.cmd == "alerts" and ns.action == "test")
    if checked and not (isinstance(result, dict) and result.get("ok")):
        return EXIT_NOT_DONE
    if ns.cmd == "enter" and not (isinstance(result, dict) and result.get("status") == "executed"):
        return EXIT_FAILED
    return EXIT_OK


def human(cmd: str, result: Any) -> str:
    own = {"proposals": proposals_cli.render, "schedules": schedule_cli.schedules_text}
    render = own.get(cmd) or RENDERERS.get(cmd)
    if render is not None:
        return render(result)
    if isinstance(result, dict):
        return " ".join(f"{k}={v}" for k, v in result.items())
    return str(result)


if __name__ == "__main__":
    sys.exit(main())
