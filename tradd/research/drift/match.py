"""The live side of a drift report, and its signals paired with the replay's.

A live order belongs to the bar Backtrader read last before the ledger created it: the
worker stamps each bar as it is read (`live_bars.received_at`) with the ledger's clock,
and a strategy places orders only inside `next()`. Orders the trading gate or the risk
gate refused never get an order row; their risk decision (BLOCKED) stands in for them.
Signals are paired by (bar, symbol, side), in the order they were placed.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from tradd.persistence.live_bars import LiveBar
from tradd.persistence.records import FillRecord, OrderRecord, RiskDecisionRecord
from tradd.research.drift.replay import ReplayOrder

BLOCKED = "Blocked"
"""The status of a live signal the trading or risk gate refused (no order row)."""


@dataclass(frozen=True)
class LiveSignal:
    bar_start: datetime
    symbol: str
    side: str
    quantity: float
    status: str
    order_ref: str | None
    filled: float
    price: float | None
    commission: float
    filled_at: datetime | None
    """Market time of the first execution."""
    latency_ms: float
    """From the bar being read to the order being committed (wall clock)."""
    created_at: datetime
    reason: str | None = None


@dataclass(frozen=True)
class Pair:
    """One signal: live, replayed, or both."""

    bar_start: datetime
    bar_seconds: int
    symbol: str
    side: str
    live: LiveSignal | None
    replay: ReplayOrder | None


def live_signals(
    bars: Sequence[LiveBar],
    orders: Iterable[OrderRecord],
    fills: Iterable[FillRecord],
    refusals: Iterable[RiskDecisionRecord],
) -> list[LiveSignal]:
    """Each live order (and refusal) placed while the period's bars were being read."""
    read = sorted(bars, key=lambda b: b.received_at)
    stamps = [b.received_at for b in read]
    by_order: dict[str, list[FillRecord]] = defaultdict(list)
    for fill in fills:
        if fill.order_ref:
            by_order[fill.order_ref].append(fill)
    signals = []
    for order in orders:
        bar = _bar_of(read, stamps, order.created_at)
        if bar is not None:
            signals.append(_from_order(order, bar, by_order.get(order.order_ref, [])))
    for decision in refusals:
        bar = _bar_of(read, stamps, decision.at)
        if bar is not None and decision.action == "BLOCKED" and decision.symbol:
            signals.append(
                LiveSignal(
                    bar.start,
                    decision.symbol,
                    decision.side or "",
                    decision.requested_qty or 0.0,
                    BLOCKED,
                    decision.order_ref,
                    0.0,
                    None,
                    0.0,
                    None,
                    _ms(decision.at - bar.received_at),
                    decision.at,
                    decision.reason,
                )
            )
    return sorted(signals, key=lambda s: (s.bar_start, s.latency_ms))


def _bar_of(read: Sequence[LiveBar], stamps: Sequence[datetime], at: datetime) -> LiveBar | None:
    index = bisect_right(stamps, at) - 1
    if index < 0:
        return None
    bar = read[index]
    if at - bar.received_at > timedelta(seconds=2 * bar.bar_seconds) + timedelta(minutes=1):
        return None  # long after the period's last bar: not decided on it
    return bar


def _from_order(order: OrderRecord, bar: LiveBar, fills: list[FillRecord]) -> LiveSignal:
    filled = sum(f.quantity for f in fills)
    price = sum(f.quantity * f.price for f in fills) / filled if filled else None
    commission = sum(f.commission or 0.0 for f in fills)
    first = min((f.executed_at for f in fills), default=None)
    return LiveSignal(
        bar.start, order.symbol, order.side, order.quantity, order.status, order.order_ref,
        filled, price, commission, first, _ms(order.created_at - bar.received_at),
        order.created_at, order.reason,
    )  # fmt: skip


def _ms(delta: timedelta) -> float:
    return round(delta.total_seconds() * 1000.0, 3)


def pair(
    live: Sequence[LiveSignal], replayed: Sequence[ReplayOrder], bar_seconds: int
) -> list[Pair]:
    """Signals paired by (bar, symbol, side) in placing order; the rest stand alone."""
    keyed: dict[tuple[datetime, str, str], tuple[list[LiveSignal], list[ReplayOrder]]] = {}
    for signal in live:
        keyed.setdefault((signal.bar_start, signal.symbol, signal.side), ([], []))[0].append(signal)
    for order in replayed:
        keyed.setdefault((order.bar_start, order.symbol, order.side), ([], []))[1].append(order)
    pairs = []
    for (start, symbol, side), (ours, theirs) in sorted(keyed.items()):
        for i in range(max(len(ours), len(theirs))):
            pairs.append(
                Pair(
                    start,
                    bar_seconds,
                    symbol,
                    side,
                    ours[i] if i < len(ours) else None,
                    theirs[i] if i < len(theirs) else None,
                )
            )
    return pairs
