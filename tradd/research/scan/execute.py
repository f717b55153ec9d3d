"""`tradd scan --execute`: put the best strategy of each symbol to work through the daemon.

For each symbol: find the daemon strategy running the best strategy's class on it, size an
entry (`position_pct` % of that strategy's equity), and send `enter` on the control socket.
The daemon's worker passes it through the same trading and risk gates as every live order,
so the risk check here is the daemon's own: a refusal comes back as `blocked` with its
rules. Per symbol the outcome is executed, blocked, failed (an error, no strategy to send
it to, or one whose worker is not RUNNING) or skipped (nothing worth doing: no positive
score, already in a position, already entered by this run).

`client_ref` is `<run_id>:<symbol>`, and repeating an execution of the same run
(`--from-run`) is the same request: a symbol this run already entered is skipped, and one
it sent before at the same `position_pct` is sent with the value it had then (not one
resized from today's equity), so the worker answers with its first reply (it remembers
refs while it lives) instead of refusing a ref reused for another amount. What was sent
is recorded before the send (`Previous`, kept by `tradd.research.scan.job`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from types import MappingProxyType
from typing import Any

from tradd.control.client import Unreachable
from tradd.errors import TraddError, UsageError
from tradd.strategy_loader import load_strategy

ENTER_TIMEOUT_S = 60.0
STATUS_TIMEOUT_S = 10.0
DaemonCall = Callable[[str, dict[str, Any], float], dict[str, Any]]
"""(cmd, args, timeout) -> the reply; raises `Unreachable` (tradd.control.client.call)."""


class DaemonFailed(TraddError):
    """The daemon answered `status` with an error: nothing was sent."""


@dataclass(frozen=True)
class Candidate:
    """A symbol's best strategy from a scan (strategy None: every strategy failed)."""

    symbol: str
    strategy: str | None
    score: float | None


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


NO_PREVIOUS: Mapping[str, Previous] = MappingProxyType({})
Planned = Callable[[Mapping[str, float]], None]
"""Called with {symbol: value} of the entries about to be sent, before the first send."""


@dataclass(frozen=True)
class _Entry:
    candidate: Candidate
    daemon_strategy: str
    value: float


def short(path: str | None) -> str:
    return (path or "-").rsplit(".", 1)[-1]


def candidates_from_summary(
    summary: Mapping[str, Any], symbols: Sequence[str] | None
) -> list[Candidate]:
    """A stored scan's best strategies (`RunRecord.summary["best"]`), for `--from-run`."""
    best: Mapping[str, Any] = summary.get("best") or {}
    wanted = list(symbols) if symbols else list(best)
    missing = [s for s in wanted if s not in best]
    if missing:
        raise UsageError(
            f"--symbols {','.join(missing)}: not in that scan (its symbols: {', '.join(best)})"
        )
    out = []
    for symbol in wanted:
        entry = best[symbol]
        if entry is None:
            out.append(Candidate(symbol, None, None))
        else:
            out.append(Candidate(symbol, entry["strategy"], entry.get("composite_score")))
    return out


def execute(
    candidates: Sequence[Candidate],
    call: DaemonCall,
    run_id: str,
    position_pct: float,
    previous: Mapping[str, Previous] = NO_PREVIOUS,
    planned: Planned = lambda values: None,
) -> list[ExecutionRow]:
    """One row per candidate, in order. Raises Unreachable if `status` gets no answer.

    Every symbol is decided from one `status` first; `planned` hears what will be sent
    before anything is, so an interrupted execution is still repeated as the same request.
    """
    reply = call("status", {}, STATUS_TIMEOUT_S)
    if not reply.get("ok"):
        error = reply.get("error") or {}
        raise DaemonFailed(
            f"the daemon refused status: [{error.get('code')}] {error.get('message')}"
        )
    fleet: list[dict[str, Any]] = list((reply.get("result") or {}).get("strategies") or [])
    decided = [_decide(c, fleet, position_pct, previous.get(c.symbol)) for c in candidates]
    entries = {d.candidate.symbol: d.value for d in decided if isinstance(d, _Entry)}
    if entries:
        planned(entries)
    return [d if isinstance(d, ExecutionRow) else _send(call, d, run_id) for d in decided]


def _decide(
    candidate: Candidate,
    fleet: list[dict[str, Any]],
    position_pct: float,
    previous: Previous | None,
) -> ExecutionRow | _Entry:
    symbol, path = candidate.symbol, candidate.strategy
    if path is None:
        return ExecutionRow(symbol, None, "skipped", f"every strategy failed on {symbol}")
    if candidate.score is None or candidate.score <= 0:
        reason = f"best composite score {candidate.score} is not positive"
        return ExecutionRow(symbol, path, "skipped", reason)
    runners = [s for s in fleet if symbol in (s.get("symbols") or []) and _runs(s, path)]
    if len(runners) != 1:
        names = ", ".join(str(s.get("name")) for s in runners)
        reason = (
            f"ambiguous: {names} all run {short(path)} on {symbol}; nothing sent"
            if runners
            else f"no strategy in the daemon runs {short(path)} on {symbol}"
        )
        return ExecutionRow(symbol, path, "failed", reason)
    return _size(candidate, path, runners[0], position_pct, previous)


def _size(
    candidate: Candidate,
    path: str,
    runner: Mapping[str, Any],
    position_pct: float,
    previous: Previous | None,
) -> ExecutionRow | _Entry:
    """The entry's value from the daemon strategy's snapshot, unless it is already in.

    A worker that is not RUNNING gets nothing: its snapshot (equity, positions) is the
    last one it sent before it stopped, and the daemon would refuse the entry anyway."""
    symbol, name, state = candidate.symbol, str(runner.get("name")), runner.get("state")
    if state != "RUNNING":
        reason = f"{name} is {state}, not RUNNING: nothing sent"
        return ExecutionRow(symbol, path, "failed", reason, daemon_strategy=name)
    snapshot: Mapping[str, Any] = runner.get("worker") or runner.get("snapshot") or {}
    already = _already_in(snapshot, name, symbol)
    if already:
        return ExecutionRow(symbol, path, "skipped", already, daemon_strategy=name)
    if previous is not None and previous.status == "executed":
        reason = f"already entered by this run (order {previous.order_ref}): not sent again"
        return ExecutionRow(symbol, path, "skipped", reason, daemon_strategy=name)
    if previous is not None and previous.position_pct == position_pct:
        return _Entry(candidate, name, previous.value)  # the same request as the first time
    equity = snapshot.get("equity")
    if not isinstance(equity, int | float) or equity <= 0:
        reason = f"{name} reports no equity (it is {state}; connected yet?)"
        return ExecutionRow(symbol, path, "failed", reason, daemon_strategy=name)
    return _Entry(candidate, name, round(float(equity) * position_pct / 100.0, 2))


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


def _send(call: DaemonCall, entry: _Entry, run_id: str) -> ExecutionRow:
    symbol, path = entry.candidate.symbol, entry.candidate.strategy
    args = {
        "strategy": entry.daemon_strategy, "symbol": symbol, "side": "BUY",
        "value": entry.value, "requested_by": f"tradd scan {run_id}",
        "client_ref": f"{run_id}:{symbol}",
    }  # fmt: skip
    base = ExecutionRow(symbol, path, "failed", daemon_strategy=entry.daemon_strategy,
                        requested_value=entry.value)  # fmt: skip
    try:
        reply = call("enter", args, ENTER_TIMEOUT_S)
    except Unreachable as exc:
        reason = (
            f"no answer from the daemon ({exc}); the entry may have been placed: see tradctl status"
        )
        return _with(base, reason=reason)
    if not reply.get("ok"):
        error = reply.get("error") or {}
        return _with(base, reason=f"[{error.get('code')}] {error.get('message')}")
    result: Mapping[str, Any] = reply.get("result") or {}
    if result.get("status") == "executed":
        return _with(base, status="executed", quantity=result.get("quantity"),
                     price=result.get("price"), value=result.get("value"),
                     order_ref=result.get("order_ref"))  # fmt: skip
    if result.get("status") == "blocked":
        rules = tuple(dict(r) for r in result.get("rules") or [])
        return _with(base, status="blocked", reason=result.get("reason"), rules=rules,
                     quantity=result.get("quantity"), price=result.get("price"))  # fmt: skip
    return _with(base, reason=f"unexpected answer from the daemon: {dict(result)}")


def _with(row: ExecutionRow, **changes: Any) -> ExecutionRow:
    return replace(row, **changes)


def document(
    rows: Sequence[ExecutionRow], run_id: str, position_pct: float, at: str
) -> dict[str, Any]:
    counts = {s: sum(1 for r in rows if r.status == s)
              for s in ("executed", "blocked", "failed", "skipped")}  # fmt: skip
    return {"run_id": run_id, "at": at, "position_pct": position_pct, "counts": counts,
            "rows": [r.as_dict() for r in rows]}  # fmt: skip
