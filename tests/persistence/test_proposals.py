"""The proposals store on both backends: a new proposal supersedes the strategy's pending
ones, a decision is a compare-and-set (a second decider loses), the applied stack is in
version order, and the audit writer the daemon uses."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from tradd.persistence.audit import write_audit
from tradd.persistence.db import open_database
from tradd.persistence.models_web import AuditRow
from tradd.persistence.proposals import Proposals
from tradd.records.proposals import Evidence, GateResult

NOW = datetime(2026, 12, 7, 21, 0, tzinfo=UTC)
EVIDENCE = Evidence(oos_sharpe=1.2, oos_psr=0.97, efficiency=0.6, pbo=0.1, stability=None,
                    period_from="2024-01-02", period_to="2026-11-30", symbols=("GOOG",))  # fmt: skip


def test_proposals_supersede_decide_once_and_stack_by_version(database_url: str) -> None:
    engine, sessions = open_database(database_url)
    try:
        store = Proposals(sessions, lambda: NOW)
        gate = GateResult(name="max_pbo", value=0.1, limit=0.2, passed=True)
        first = store.add("sma", "walkforward", "s.Sma", {"fast": 5}, EVIDENCE, [gate], "wf-1")
        failing = GateResult(name="min_oos_psr", value=None, limit=0.95, passed=False)
        second = store.add("sma", "optimize", "s.Sma", {"fast": 7}, EVIDENCE, [gate, failing])
        other = store.add("rsi", "optimize", "s.Rsi", {"period": 9}, EVIDENCE, [])
        assert store.get(first.id).state == "superseded"  # type: ignore[union-attr]
        assert not second.passed and second.failed_gates() == (failing,)
        assert other.passed and other.state == "pending"  # no gates: nothing failed
        assert store.decide(second.id, ("pending",), "applied", "tradctl:ops", version=1)
        assert not store.decide(second.id, ("pending",), "rejected", "web:alice")
        assert store.decide(other.id, ("pending",), "applied", "auto", version=2)
        got = store.get(second.id)
        assert got is not None and (got.state, got.decided_by, got.version) == (
            "applied", "tradctl:ops", 1)  # fmt: skip
        assert got.evidence == EVIDENCE and got.params == {"fast": 7}
        assert [p.id for p in store.applied("sma")] == [second.id]
        assert [p.id for p in store.recent(state="pending")] == []
        assert [p.id for p in store.recent(strategy="rsi")] == [other.id]
        write_audit(sessions, NOW, "tradctl:" + "x" * 40, "promote", {"proposal": 1},
                    {"at": NOW, "value": float("nan")}, True)  # fmt: skip
        with sessions() as session:
            row = session.scalars(select(AuditRow)).one()
        assert len(row.user) == 32 and row.result == {"at": str(NOW), "value": None}
    finally:
        engine.dispose()
