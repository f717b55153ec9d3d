"""`tradd scan --execute`: put the best strategy of each symbol to work through the daemon.

For each symbol, best score first: check that its backtest is evidence worth money
(`tradd.research.scan.candidates`), find the daemon strategy running that class on it,
check that it runs the tested setup (`tradd.research.scan.setup`; `any_setup` lets it
through with a note), size an entry (`position_pct` % of that strategy's equity), keep the
sum of this execution's entries within `max_total_pct` % of the equity (best symbols
first), and send `enter` on the control socket. The daemon's worker passes it through the
same trading and risk gates as every live order, so the risk check here is the daemon's
own: a refusal comes back as `blocked` with its rules. Per symbol the outcome is executed,
blocked, failed (an error, no strategy to send it to, one whose worker is not RUNNING, one
running another setup) or skipped (not eligible, already in a position, already entered
by this run, over the total cap).

Repeating an execution of the same run (`--from-run`) never enters twice. A request
carries `client_ref` `<run_id>:<symbol>` (`<run_id>:<symbol>:<n>` for the n-th attempt),
and what is sent is recorded before the send (`Previous`, kept by
`tradd.research.scan.job`). A worker answers a ref it has seen with its first reply and
refuses (`conflict`) one reused with other arguments, so: a symbol this run entered is
skipped; one whose earlier request has no known outcome (`sending`: no answer came;
`failed`: it may have been placed) is sent again exactly as it was (same ref and value,
not resized from today's equity) to learn that outcome, and refused when another
`position_pct` is asked for; one whose earlier request was `blocked` (nothing placed) is
a new attempt under a new ref, sized afresh.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from types import MappingProxyType
from typing import Any

from tradd.errors import TraddError, UsageError
from tradd.research.scan.candidates import Candidate, ineligible
from tradd.research.scan.setup import setup_difference
from tradd.strategy_loader import load_strategy

ENTER_TIMEOUT_S = 60.0
STATUS_TIMEOUT_S = 10.0
DaemonCall = Callable[[str, dict[str, Any], float], dict[str, Any]]
"""(cmd, args, timeout) -> the reply; raises `DaemonUnreachable`. The command line passes
one over the control socket (`tradd.cli.scan_cmd`): research sits below the control
package in tradd's layers, so it is handed the client, never imports it."""


class DaemonUnreachable(Exception):
    """No daemon answered the call (not running, wrong socket, timed out)."""


class DaemonFailed(TraddError):
    """The daemon answered `status` with an error: nothing was sent."""


@dataclass(frozen=True)
class Policy:
    """What an execution may send (the CLI's options)."""

    position_pct: float
    """% of the daemon strategy's equity per entry."""
    min_score: float = 0.0
    max_total_pct: float = 100.0
    """The sum of this execution's entries, as % of the equity."""
    any_setup: bool = False
    """Send to a daemon strategy running other params or bars than the scan tested."""
    requested_by: str | None = None
    """Who the entries name in the daemon's events and alerts (the console: `web:<user>
    (job <id>)`); None: `tradd scan <run_id>`."""


@dataclass(frozen=True)
class ExecutionRow:
    symbol: str
    strategy: str | None
    status: str
    """executed, blocked, failed or skipped."""
    reason: str | None = None
    daemon_strategy: str | None = None
    requested_value: float | None = None
    quantity: float | None = None
    price: float | None = None
    value: float | None = None
    order_ref: str | None = None
    rules: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    client_ref: str | None = None
    attempt: int | None = None
    note: str | None = None
    """Sent despite a difference (`any_setup`): which."""

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["rules"] = list(self.rules)
        return out


@dataclass(frozen=True)
class Previous:
    """What an earlier execution of the same run sent for a symbol."""

    position_pct: float
    value: float
    status: str
    """`sending` (recorded before the send; the outcome never came back) or the row's."""
    order_ref: str | None = None
    attempt: int = 1


NO_PREVIOUS: Mapping[str, Previous] = MappingProxyType({})
Planned = Callable[[Mapping[str, Previous]], None]
"""Called with what is about to be sent (status `sending`), before the first send."""


@dataclass(frozen=True)
class _Entry:
    candidate: Candidate
    daemon_strategy: str
    value: float
    equity: float
    attempt: int
    note: str | None


def short(path: str | None) -> str:
    return (path or "-").rsplit(".", 1)[-1]


def client_ref(run_id: str, symbol: str, attempt: int) -> str:
    return f"{run_id}:{symbol}" if attempt == 1 else f"{run_id}:{symbol}:{attempt}"


def execute(
    candidates: Sequence[Candidate],
    call: DaemonCall,
    run_id: str,
    policy: Policy,
    previous: Mapping[str, Previous] = NO_PREVIOUS,
    planned: Planned = lambda sending: None,
) -> list[ExecutionRow]:
    """One row per candidate, best score first. Raises DaemonUnreachable if `status` gets no
    answer, DaemonFailed if it is refused: nothing is sent then.

    Every symbol is decided from one `status` first; `planned` hears what will be sent
    before anything is, so an interrupted execution is still repeated as the same request.
    """
    reply = call("status", {}, STATUS_TIMEOUT_S)
    if not reply.get("ok"):
        error = reply.get("error") or {}
        raise DaemonFailed(
            f"the daemon refused status: [{error.get('code')}] {error.get('message')}; nothing sent"
        )
    fleet: list[dict[str, Any]] = list((reply.get("result") or {}).get("strategies") or [])
    ordered = sorted(candidates, key=lambda c: (c.score is None, -(c.score or 0.0)))
    decided = [_decide(c, fleet, policy, previous.get(c.symbol)) for c in ordered]
    decided = _cap(decided, policy.max_total_pct)
    sending = {d.candidate.symbol: Previous(policy.position_pct, d.value, "sending",
                                            attempt=d.attempt)
               for d in decided if isinstance(d, _Entry)}  # fmt: skip
    if sending:
        planned(sending)
    by = policy.requested_by or f"tradd scan {run_id}"
    return [d if isinstance(d, ExecutionRow) else _send(call, d, run_id, by) for d in decided]


def _decide(
    candidate: Candidate, fleet: list[dict[str, Any]], policy: Policy, previous: Previous | None
) -> ExecutionRow | _Entry:
    symbol, path = candidate.symbol, candidate.strategy
    if path is None:
        return ExecutionRow(symbol, None, "skipped", f"every strategy failed on {symbol}")
    why = ineligible(candidate, policy.min_score)
    if why:
        return ExecutionRow(symbol, path, "skipped", why)
    runners = [s for s in fleet if symbol in (s.get("symbols") or []) and _runs(s, path)]
    if len(runners) != 1:
        names = ", ".join(str(s.get("name")) for s in runners)
        reason = (
            f"ambiguous: {names} all run {short(path)} on {symbol}; nothing sent"
            if runners
            else f"no strategy in the daemon runs {short(path)} on {symbol}"
        )
        return ExecutionRow(symbol, path, "failed", reason)
    return _check(candidate, path, runners[0], policy, previous)


def _check(
    candidate: Candidate,
    path: str,
    runner: Mapping[str, Any],
    policy: Policy,
    previous: Previous | None,
) -> ExecutionRow | _Entry:
    """The daemon strategy's state and setup, then the entry unless it is already in.

    A worker that is not RUNNING gets nothing: its snapshot (equity, positions) is the
    last one it sent before it stopped, and the daemon would refuse the entry anyway."""
    symbol, name, state = candidate.symbol, str(runner.get("name")), runner.get("state")
    if state != "RUNNING":
        reason = f"{name} is {state}, not RUNNING: nothing sent"
        return ExecutionRow(symbol, path, "failed", reason, daemon_strategy=name)
    difference = setup_difference(runner, candidate)
    if difference and not policy.any_setup:
        reason = f"{difference} (--any-setup to enter anyway); nothing sent"
        return ExecutionRow(symbol, path, "failed", reason, daemon_strategy=name)
    snapshot: Mapping[str, Any] = runner.get("worker") or runner.get("snapshot") or {}
    already = _already_in(snapshot, name, symbol)
    if already:
        return ExecutionRow(symbol, path, "skipped", already, daemon_strategy=name)
    if previous is not None and previous.status == "executed":
        reason = f"already entered by this run (order {previous.order_ref}): not sent again"
        return ExecutionRow(symbol, path, "skipped", reason, daemon_strategy=name)
    equity = snapshot.get("equity")
    if not isinstance(equity, int | float) or equity <= 0:
        reason = f"{name} reports no equity (it is {state}; connected yet?)"
        return ExecutionRow(symbol, path, "failed", reason, daemon_strategy=name)
    note = f"{difference}: entered anyway (--any-setup)" if difference else None
    return _size(candidate, name, float(equity), policy.position_pct, previous, note)


def _size(
    candidate: Candidate,
    name: str,
    equity: float,
    position_pct: float,
    previous: Previous | None,
    note: str | None,
) -> ExecutionRow | _Entry:
    """A new entry, or the earlier request repeated when its outcome is unknown."""
    if previous is None or previous.status == "blocked":  # nothing placed: a fresh attempt
        attempt = 1 if previous is None else previous.attempt + 1
        value = round(equity * position_pct / 100.0, 2)
        return _Entry(candidate, name, value, equity, attempt, note)
    if previous.position_pct == position_pct:  # the same request as the first time
        return _Entry(candidate, name, previous.value, equity, previous.attempt, note)
    reason = (
        f"this run's earlier entry ({previous.position_pct:g}%: {previous.value:,.2f}) has "
        f"no known outcome ({previous.status}; it may have been placed): repeat with "
        f"--position-pct {previous.position_pct:g} to learn it; nothing sent"
    )
    return ExecutionRow(candidate.symbol, candidate.strategy, "failed", reason,
                        daemon_strategy=name)  # fmt: skip


def _cap(decided: list[ExecutionRow | _Entry], max_total_pct: float) -> list[ExecutionRow | _Entry]:
    """Entries in order while their sum stays within `max_total_pct` % of the equity."""
    total, out = 0.0, list[ExecutionRow | _Entry]()
    for item in decided:
        if isinstance(item, _Entry):
            cap = round(item.equity * max_total_pct / 100.0, 2)
            if total + item.value > cap + 0.005:
                reason = (
                    f"total cap reached ({total:,.2f} of {cap:,.2f} in this execution, "
                    f"--max-total-pct {max_total_pct:g}): {item.value:,.2f} more is over it"
                )
                item = ExecutionRow(item.candidate.symbol, item.candidate.strategy, "skipped",
                                    reason, daemon_strategy=item.daemon_strategy)  # fmt: skip
            else:
                total += item.value
        out.append(item)
    return out


def _runs(entry: Mapping[str, Any], path: str) -> bool:
    """Whether a daemon strategy runs the class `path` (same path, or the same class)."""
    configured = entry.get("strategy_class")
    if not isinstance(configured, str):
        return False
    if configured == path:
        return True
    try:
        return load_strategy(configured) is load_strategy(path)
    except UsageError:
        return False


def _held(snapshot: Mapping[str, Any], symbol: str) -> float:
    position = (snapshot.get("positions") or {}).get(symbol) or {}
    quantity = position.get("quantity") if isinstance(position, Mapping) else None
    return float(quantity) if isinstance(quantity, int | float) else 0.0


def _already_in(snapshot: Mapping[str, Any], name: str, symbol: str) -> str:
    """Why the strategy is already in `symbol` ("" if not): a position, or working orders
    (an entry, this scan's or another's, sent but not filled yet)."""
    held = _held(snapshot, symbol)
    if held:
        return f"{name} already holds {held:g} {symbol}"
    pending = (snapshot.get("working_exposure") or {}).get(symbol)
    if isinstance(pending, int | float) and pending:
        return f"{name} has working orders for {pending:+g} {symbol}"
    return ""


def _send(call: DaemonCall, entry: _Entry, run_id: str, requested_by: str) -> ExecutionRow:
    symbol, path = entry.candidate.symbol, entry.candidate.strategy
    ref = client_ref(run_id, symbol, entry.attempt)
    args = {
        "strategy": entry.daemon_strategy, "symbol": symbol, "side": "BUY",
        "value": entry.value, "requested_by": requested_by, "client_ref": ref,
    }  # fmt: skip
    base = ExecutionRow(symbol, path, "failed", daemon_strategy=entry.daemon_strategy,
                        requested_value=entry.value, client_ref=ref, attempt=entry.attempt,
                        note=entry.note)  # fmt: skip
    try:
        reply = call("enter", args, ENTER_TIMEOUT_S)
    except DaemonUnreachable as exc:
        reason = (
            f"no answer from the daemon ({exc}); the entry may have been placed: see tradctl status"
        )
        return replace(base, reason=reason)
    if not reply.get("ok"):
        error = reply.get("error") or {}
        return replace(base, reason=f"[{error.get('code')}] {error.get('message')}")
    result: Mapping[str, Any] = reply.get("result") or {}
    if result.get("status") == "executed":
        return replace(base, status="executed", quantity=result.get("quantity"),
                       price=result.get("price"), value=result.get("value"),
                       order_ref=result.get("order_ref"))  # fmt: skip
    if result.get("status") == "blocked":
        rules = tuple(dict(r) for r in result.get("rules") or [])
        return replace(base, status="blocked", reason=result.get("reason"), rules=rules,
                       quantity=result.get("quantity"), price=result.get("price"))  # fmt: skip
    return replace(base, reason=f"unexpected answer from the daemon: {dict(result)}")


def recorded(rows: Sequence[ExecutionRow], position_pct: float) -> dict[str, Previous]:
    """What this execution sent, per symbol, with its outcome (for the next one)."""
    return {r.symbol: Previous(position_pct, r.requested_value, r.status, r.order_ref,
                               r.attempt or 1)
            for r in rows if r.requested_value is not None}  # fmt: skip


def document(rows: Sequence[ExecutionRow], run_id: str, policy: Policy, at: str) -> dict[str, Any]:
    counts = {s: sum(1 for r in rows if r.status == s)
              for s in ("executed", "blocked", "failed", "skipped")}  # fmt: skip
    return {"run_id": run_id, "at": at, **asdict(policy), "counts": counts,
            "rows": [r.as_dict() for r in rows]}  # fmt: skip
