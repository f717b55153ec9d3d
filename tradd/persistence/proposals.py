"""`Proposals`: the `proposals` table, read and written as `tradd.records.proposals` records.

Research commands add proposals; the daemon (tradctl, the console through it, and its own
auto-promotion) decides them. A decision is a compare-and-set on the state, so two
deciders cannot both apply one proposal. A new proposal for a strategy supersedes its
older pending ones: only the latest evidence is worth approving.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from tradd.jsonsafe import finite
from tradd.persistence.models_proposals import ProposalRow
from tradd.persistence.transactions import read_transaction, write_transaction
from tradd.records.proposals import Evidence, GateResult, Proposal, ProposalState


class Proposals:
    def __init__(self, sessions: sessionmaker[Session], clock: Callable[[], datetime]) -> None:
        self._sessions = sessions
        self._clock = clock

    def add(
        self,
        strategy: str,
        kind: str,
        strategy_class: str,
        params: Mapping[str, Any],
        evidence: Evidence,
        gates: Sequence[GateResult],
        run_id: str | None = None,
    ) -> Proposal:
        """Store a pending proposal; the strategy's older pending ones become superseded."""
        now = self._clock()
        row = ProposalRow(
            strategy=strategy, created_at=now, run_id=run_id, kind=kind,
            strategy_class=strategy_class, params=finite(dict(params)),
            evidence=evidence.model_dump(mode="json"),
            gates=[g.model_dump(mode="json") for g in gates],
            passed=all(g.passed for g in gates), state="pending", note="",
        )  # fmt: skip
        with write_transaction(self._sessions) as session:
            session.execute(
                update(ProposalRow)
                .where(ProposalRow.strategy == strategy, ProposalRow.state == "pending")
                .values(
                    state="superseded",
                    decided_at=now,
                    decided_by="auto",
                    note="a newer proposal replaced it",
                )
            )
            session.add(row)
            session.flush()
            return _record(row)

    def get(self, proposal_id: int) -> Proposal | None:
        with read_transaction(self._sessions) as session:
            row = session.get(ProposalRow, proposal_id)
            return _record(row) if row is not None else None

    def recent(
        self, limit: int = 50, strategy: str | None = None, state: ProposalState | None = None
    ) -> list[Proposal]:
        query = select(ProposalRow)
        if strategy is not None:
            query = query.where(ProposalRow.strategy == strategy)
        if state is not None:
            query = query.where(ProposalRow.state == state)
        with read_transaction(self._sessions) as session:
            rows = session.scalars(query.order_by(ProposalRow.id.desc()).limit(limit)).all()
            return [_record(r) for r in rows]

    def applied(self, strategy: str) -> list[Proposal]:
        """The strategy's applied proposals, the live one (highest version) first."""
        query = (
            select(ProposalRow)
            .where(ProposalRow.strategy == strategy, ProposalRow.state == "applied")
            .order_by(ProposalRow.version.desc(), ProposalRow.id.desc())
        )
        with read_transaction(self._sessions) as session:
            return [_record(r) for r in session.scalars(query)]

    def decide(
        self,
        proposal_id: int,
        expected: Sequence[ProposalState],
        state: ProposalState,
        by: str,
        *,
        version: int | None = None,
        note: str = "",
    ) -> bool:
        """Move the proposal to `state` if it is in one of `expected`; False if not (someone
        else decided it first)."""
        values: dict[str, Any] = {"state": state, "decided_by": by[:64],
                                  "decided_at": self._clock(), "note": note}  # fmt: skip
        if version is not None:
            values["version"] = version
        with write_transaction(self._sessions) as session:
            done = session.execute(
                update(ProposalRow)
                .where(ProposalRow.id == proposal_id, ProposalRow.state.in_(list(expected)))
                .values(**values)
            )
            return bool(getattr(done, "rowcount", 0))


def _record(row: ProposalRow) -> Proposal:
    return Proposal(
        id=row.id, strategy=row.strategy, created_at=row.created_at, run_id=row.run_id,
        kind=row.kind,
        strategy_class=row.strategy_class, params=dict(row.params),
        evidence=Evidence.model_validate(row.evidence),
        gates=tuple(GateResult.model_validate(g) for g in row.gates), passed=bool(row.passed),
        state=row.state,
        decided_by=row.decided_by, decided_at=row.decided_at, version=row.version,
        note=row.note or "",
    )  # fmt: skip
