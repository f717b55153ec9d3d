"""The P&L difference between live and replay, split by cause (docs/drift.md).

Every fill's P&L is marked to the period's last close: `q x (mark - price) - commission`
(q signed: + bought). Both sides' P&L are sums of such terms, so their difference splits
exactly over the signals:

- both sides filled: `slippage` = q x (replay price - live price), `commissions` = replay
  commission - live commission; a quantity that differs goes to `other`;
- only the replay filled: its P&L, negated, goes to `refused` when live placed the same
  signal and it was rejected, blocked or never sent; to `offline` when live received the
  bar only as history after an outage (it could not trade on it); else to `signal`;
- only live filled: its P&L goes to `signal`.

A divergence outlives its signal: while live's and the replay's positions in a symbol
differ, an unpaired fill that narrows the difference (the exit of a position one side
never had, even if that exit falls in an outage) gets the cause that opened it; one that
widens it gets its own cause. `other` takes whatever is left (a position held
at the period's start, a partial fill), so the causes always add up to the drift.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from tradd.persistence.drift_results import DRIFT_CAUSES
from tradd.research.drift.match import BLOCKED, LiveSignal, Pair
from tradd.research.drift.replay import ReplayOrder

REFUSED_STATUSES = frozenset({"Rejected", "NotSent", "Cancelled", "ApiCancelled", "Inactive",
                              BLOCKED})  # fmt: skip


@dataclass(frozen=True)
class Verdict:
    """One signal's part in the drift."""

    pair: Pair
    kind: str
    """matched (both), missed (only the replay: live missed it), added (only live)."""
    cause: str | None
    effect: float
    """Its contribution to live minus replay P&L."""
    slippage_bps: float | None
    """How much worse live filled than the replay, in basis points (matched fills)."""
    delay_seconds: float | None
    """From the live order being committed to its first execution (IB's time)."""


@dataclass
class Attribution:
    live_pnl: float = 0.0
    replay_pnl: float = 0.0
    components: dict[str, float] = field(default_factory=lambda: dict.fromkeys(DRIFT_CAUSES, 0.0))
    verdicts: list[Verdict] = field(default_factory=list)

    @property
    def drift(self) -> float:
        return self.live_pnl - self.replay_pnl


def attribute(
    pairs: Sequence[Pair], marks: Mapping[str, float], offline: frozenset[tuple[str, datetime]]
) -> Attribution:
    """`offline`: (symbol, bar start) of the bars live read only as history."""
    result = Attribution()
    positions: dict[str, tuple[float, float]] = {}
    diverged: dict[str, str] = {}
    for p in pairs:
        mark = marks[p.symbol]
        live_q, live_pnl = _live_side(p.live, p.side, mark)
        replay_q, replay_pnl = _replay_side(p.replay, p.side, mark)
        result.live_pnl += live_pnl
        result.replay_pnl += replay_pnl
        ours, theirs = positions.get(p.symbol, (0.0, 0.0))
        closing = abs((ours + live_q) - (theirs + replay_q)) < abs(ours - theirs)
        inherited = diverged.get(p.symbol) if closing else None
        verdict = _judge(p, live_pnl - replay_pnl, inherited, (p.symbol, p.bar_start) in offline)
        for cause, amount in _split(p, verdict, live_pnl - replay_pnl).items():
            result.components[cause] += amount
        result.verdicts.append(verdict)
        ours, theirs = ours + live_q, theirs + replay_q
        positions[p.symbol] = (ours, theirs)
        if abs(ours - theirs) < 1e-9:
            diverged.pop(p.symbol, None)
        elif verdict.cause and verdict.kind != "matched" and p.symbol not in diverged:
            diverged[p.symbol] = verdict.cause
    accounted = sum(result.components.values())
    result.components["other"] += result.drift - accounted
    return result


def _sign(side: str) -> float:
    return 1.0 if side == "BUY" else -1.0


def _live_side(live: LiveSignal | None, side: str, mark: float) -> tuple[float, float]:
    if live is None or not live.filled or live.price is None:
        return 0.0, 0.0
    q = _sign(side) * live.filled
    return q, q * (mark - live.price) - live.commission


def _replay_side(replay: ReplayOrder | None, side: str, mark: float) -> tuple[float, float]:
    if replay is None or not replay.filled or replay.price is None:
        return 0.0, 0.0
    q = _sign(side) * replay.filled
    return q, q * (mark - replay.price) - replay.commission


def _judge(p: Pair, effect: float, inherited: str | None, offline: bool) -> Verdict:
    live_filled = p.live is not None and p.live.filled > 0
    replay_filled = p.replay is not None and p.replay.filled > 0
    if live_filled and replay_filled:
        return Verdict(p, "matched", None, effect, _bps(p), _delay(p))
    if replay_filled:
        if inherited:
            cause = inherited
        elif p.live is not None and p.live.status in REFUSED_STATUSES:
            cause = "refused"
        else:
            cause = "offline" if offline else "signal"
        return Verdict(p, "missed", cause, effect, None, None)
    if live_filled:
        return Verdict(p, "added", inherited or "signal", effect, None, _delay(p))
    return Verdict(p, "unfilled", None, effect, None, None)


def _split(p: Pair, verdict: Verdict, effect: float) -> dict[str, float]:
    if verdict.kind != "matched":
        return {verdict.cause: effect} if verdict.cause else {}
    assert p.live is not None and p.replay is not None
    assert p.live.price is not None and p.replay.price is not None
    q = _sign(p.side) * min(p.live.filled, p.replay.filled)
    return {
        "slippage": q * (p.replay.price - p.live.price),
        "commissions": p.replay.commission - p.live.commission,
    }  # a differing quantity is left to `other`


def _bps(p: Pair) -> float | None:
    assert p.live is not None and p.replay is not None
    if p.live.price is None or not p.replay.price:
        return None
    worse = _sign(p.side) * (p.live.price - p.replay.price)
    return round(worse / p.replay.price * 10_000.0, 6)


def _delay(p: Pair) -> float | None:
    if p.live is None or p.live.filled_at is None:
        return None
    return round((p.live.filled_at - p.live.created_at).total_seconds(), 3)
