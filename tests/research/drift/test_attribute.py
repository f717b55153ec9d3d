"""Pairing and attribution on hand-made records: the cases the simulator run does not reach.

A signal the risk gate blocked has no order row, only its BLOCKED decision: it must
still pair with the replay's fill and count as refused, and the exit the replay then
makes (a position live never had) must follow it. A fill only live made is `signal`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tradd.persistence.live_bars import LiveBar
from tradd.persistence.records import RiskDecisionRecord
from tradd.research.drift.attribute import attribute
from tradd.research.drift.match import BLOCKED, live_signals, pair
from tradd.research.drift.replay import ReplayOrder

T0 = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)


def _bar(minute: int, close: float) -> LiveBar:
    start = T0 + timedelta(minutes=minute)
    read = start + timedelta(minutes=1, milliseconds=5)
    return LiveBar(1, "s1", "GOOG", 60, start, close, close, close, close, 100.0, False, read)


def _replayed(minute: int, side: str, price: float) -> ReplayOrder:
    return ReplayOrder(T0 + timedelta(minutes=minute), "GOOG", side, 10, "Completed", 10, price,
                       1.0)  # fmt: skip


def test_a_blocked_signal_and_its_exit_are_refused() -> None:
    bars = [_bar(m, 100.0 + m) for m in range(5)]
    blocked = RiskDecisionRecord("s1", bars[1].received_at + timedelta(milliseconds=1),
                                 "BLOCKED", "max_position_size", "NORMAL", "max_position_size",
                                 None, "GOOG", "BUY", 10.0, 0.0)  # fmt: skip
    live = live_signals(bars, [], [], [blocked])
    assert [(s.bar_start, s.status) for s in live] == [(bars[1].start, BLOCKED)]
    replayed = [_replayed(1, "BUY", 101.01), _replayed(3, "SELL", 102.99)]
    result = attribute(pair(live, replayed, 60), {"GOOG": 104.0}, frozenset())
    assert [(v.kind, v.cause) for v in result.verdicts] == [("missed", "refused")] * 2
    # the replay's round trip (+19.8 less 2 commissions) is what live lost by the refusal
    assert result.replay_pnl == pytest.approx(10 * (102.99 - 101.01) - 2.0)
    assert result.components["refused"] == pytest.approx(-result.replay_pnl)
    assert result.components["other"] == pytest.approx(0.0)
