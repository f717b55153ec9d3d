"""Reconciliation: what the gateway says, against what the ledger remembers.

Run after every (re)connect, 1101 and 1102, because fills, cancels and expiries happen
while the worker is down or cut off. The plan is computed here without side effects
(so each case is tested directly); `OrderManager.apply_plan` carries it out.

- Our orders still working at IB are adopted (their state and ids refreshed); an order
  the ledger holds as `Created` that IB has never heard of was cut off between persisting
  and sending: it is marked `NotSent`, never re-sent (that is how no order goes out twice).
- IB lists only today's orders and executions. Not being listed proves something only
  for an order placed since IB's trading day began (`since`): an older one that IB no
  longer lists may well have filled yesterday (a worker killed before it heard of its
  fills, restarted after the day turned). It is marked `Unknown`, never `NotSent` or
  `Cancelled`; its fills, if any, show as a position mismatch, which halts the strategy.
- Executions of ours that the ledger lacks are booked once (deduplicated by execId).
- Positions: the account's position in each of our symbols must equal what tradd's ledger
  (all strategies) plus today's not-yet-booked tradd executions explain. Anything else
  (a manual trade, a fill lost for good) is a mismatch: the strategy halts once a re-check
  confirms it (`MismatchWatch`). The ledger's side is read in one snapshot
  (`Ledger.booked_positions`), so a fill another worker books meanwhile counts once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from tradd.ib.types import BrokerPosition, Commission, Execution, OrderUpdate
from tradd.persistence.models import OrderStatus
from tradd.persistence.orderrefs import parse_order_ref
from tradd.persistence.records import OrderRecord

QUANTITY_TOLERANCE = 1e-6
MISMATCH_CHECKS = 5
"""Checks in a row that found a position mismatch, whatever its gaps, before halting."""
VIEW_ATTEMPTS = 3
"""Fetches of IB's positions, each between two of its executions, to find them agreeing."""
UNKNOWN_REASON = (
    "IB no longer lists it: placed before IB's trading day turned (IB lists only today's "
    "orders and fills); whether it filled is unknown; not re-sent"
)


@dataclass(frozen=True)
class BrokerView:
    """The gateway's side, fetched in one go."""

    open_orders: list[OrderUpdate]
    completed_orders: list[OrderUpdate]
    executions: list[tuple[Execution, Commission | None]]
    positions: list[BrokerPosition]


@dataclass(frozen=True)
class PositionMismatch:
    symbol: str
    broker: float
    expected: float

    def describe(self) -> str:
        return (
            f"{self.symbol}: the account holds {self.broker:g}, tradd's ledger explains "
            f"{self.expected:g}"
        )

    @property
    def gap(self) -> float:
        return self.broker - self.expected


@dataclass
class MismatchWatch:
    """When a position mismatch is real enough to halt the strategy.

    IB's executions and positions are fetched at different moments, so a fill arriving in
    between (another strategy trading the same symbol every bar) shows as a mismatch that
    the next check no longer sees, or sees with another gap. A real one (a manual trade, a
    fill lost for good) keeps its gap: it halts once two checks in a row agree on a
    symbol's gap, or after MISMATCH_CHECKS checks in a row that all found some mismatch."""

    suspects: dict[str, float] = field(default_factory=dict)
    checks: int = 0

    @property
    def pending(self) -> bool:
        """A mismatch awaits its re-check."""
        return bool(self.suspects)

    def judge(self, mismatches: list[PositionMismatch]) -> list[PositionMismatch]:
        """The mismatches to halt on (none: not, or not yet, proven)."""
        if not mismatches:
            self.suspects, self.checks = {}, 0
            return []
        self.checks += 1
        confirmed = [m for m in mismatches if self._same_gap(m)]
        if confirmed or self.checks >= MISMATCH_CHECKS:
            self.suspects, self.checks = {}, 0
            return mismatches
        self.suspects = {m.symbol: m.gap for m in mismatches}
        return []

    def _same_gap(self, mismatch: PositionMismatch) -> bool:
        before = self.suspects.get(mismatch.symbol)
        return before is not None and abs(before - mismatch.gap) <= QUANTITY_TOLERANCE


@dataclass(frozen=True)
class ReconcilePlan:
    updates: list[OrderUpdate] = field(default_factory=list)
    """IB's latest state of our orders (open and completed)."""
    new_fills: list[tuple[Execution, Commission | None]] = field(default_factory=list)
    not_sent: list[str] = field(default_factory=list)
    vanished: list[str] = field(default_factory=list)
    """Sent orders open in the ledger that IB no longer lists anywhere."""
    mismatches: list[PositionMismatch] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    """Open orders IB no longer lists, placed before IB's trading day began: their fate
    is beyond IB's day-long views."""

    def summary(self) -> str:
        unknown = f", {len(self.unknown)} unknown (before IB's day)" if self.unknown else ""
        return (
            f"{len(self.updates)} order states, {len(self.new_fills)} new fills, "
            f"{len(self.not_sent)} never sent, {len(self.vanished)} vanished, "
            f"{len(self.mismatches)} position mismatches{unknown}"
        )


def consistent_broker_side(
    executions: Callable[[], list[tuple[Execution, Commission | None]]],
    positions: Callable[[], list[BrokerPosition]],
    attempts: int = VIEW_ATTEMPTS,
) -> tuple[list[tuple[Execution, Commission | None]], list[BrokerPosition]]:
    """IB's executions and positions as of one moment, as near as IB allows.

    They are two requests: a fill between them shows in one and not the other (a false
    mismatch when another strategy trades the symbol every bar). So the executions are
    fetched again after the positions; while that lists an execution the first did not,
    the pair is fetched again (a few times; past that the re-check judges)."""
    before = executions()
    for _ in range(attempts):
        held = positions()
        after = executions()
        if {e.exec_id for e, _ in after} <= {e.exec_id for e, _ in before}:
            break
        before = after
    return after, held


def plan_reconciliation(
    strategy: str,
    ledger_open: list[OrderRecord],
    known_exec_ids: set[str],
    view: BrokerView,
    ledger_positions: Mapping[str, float],
    symbols: Iterable[str],
    *,
    since: datetime | None = None,
) -> ReconcilePlan:
    """Everything to change, given both sides. `ledger_positions` is the net position per
    symbol over every strategy's booked fills (the account is shared). `since`: when IB's
    trading day began, on the ledger's clock (None: IB's views cover every open order)."""
    ours = [u for u in view.open_orders + view.completed_orders if _owner(u.order_ref) == strategy]
    seen_refs = {u.order_ref for u in ours}
    new_fills, pending_elsewhere = _unbooked(strategy, view.executions, known_exec_ids)
    seen_refs |= {e.order_ref for e, _ in view.executions}
    unlisted = [o for o in ledger_open if o.order_ref not in seen_refs]
    unknown = [o.order_ref for o in unlisted if since is not None and o.created_at < since]
    judged = [o for o in unlisted if o.order_ref not in unknown]
    not_sent = [o.order_ref for o in judged if o.status == OrderStatus.CREATED]
    vanished = [o.order_ref for o in judged if o.status != OrderStatus.CREATED]
    expected = dict(ledger_positions)
    for execution, _ in new_fills + pending_elsewhere:
        expected[execution.symbol] = expected.get(execution.symbol, 0.0) + _signed(execution)
    mismatches = _mismatches(view.positions, expected, symbols)
    return ReconcilePlan(ours, new_fills, not_sent, vanished, mismatches, unknown)


def _owner(order_ref: str) -> str | None:
    parsed = parse_order_ref(order_ref)
    return parsed[0] if parsed else None


def _unbooked(
    strategy: str, executions: list[tuple[Execution, Commission | None]], known: set[str]
) -> tuple[list[tuple[Execution, Commission | None]], list[tuple[Execution, Commission | None]]]:
    """Today's executions not in the ledger: ours (to book) and other tradd strategies'
    (their workers book them; they still explain the account's position)."""
    mine, others, seen = [], [], set(known)
    for execution, commission in executions:
        if execution.exec_id in seen:
            continue
        seen.add(execution.exec_id)
        owner = _owner(execution.order_ref)
        if owner == strategy:
            mine.append((execution, commission))
        elif owner is not None:
            others.append((execution, commission))
    mine.sort(key=lambda item: item[0].time)
    return mine, others


def _mismatches(
    positions: list[BrokerPosition], expected: Mapping[str, float], symbols: Iterable[str]
) -> list[PositionMismatch]:
    held: dict[str, float] = {}
    for p in positions:
        held[p.symbol] = held.get(p.symbol, 0.0) + p.quantity
    found = []
    for symbol in symbols:
        broker, wanted = held.get(symbol, 0.0), expected.get(symbol, 0.0)
        if abs(broker - wanted) > QUANTITY_TOLERANCE:
            found.append(PositionMismatch(symbol, broker, wanted))
    return found


def _signed(execution: Execution) -> float:
    return execution.quantity if execution.side == "BUY" else -execution.quantity
