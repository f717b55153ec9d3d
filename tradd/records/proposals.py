"""A parameter proposal as it crosses process boundaries: control replies, API bodies.

A proposal is a parameter set for one live strategy, the evidence of the research run
that found it, and the verdict of each `[promotion]` gate. The control server answers
`proposals` with these records and the web console serves them as they are, so there is
one typed shape of a proposal, not one per reader.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from tradd.records.base import Record

ProposalState = Literal["pending", "approved", "rejected", "applied", "rolled_back", "superseded"]
PROPOSAL_STATES: tuple[ProposalState, ...] = (
    "pending", "approved", "rejected", "applied", "rolled_back", "superseded",
)  # fmt: skip
ProposalKind = Literal["optimize", "walkforward"]


class GateResult(Record):
    """One `[promotion]` gate: `value` None means the run could not measure it (failed)."""

    name: str
    """The setting: max_pbo, min_oos_psr, min_efficiency, min_stability."""
    value: float | None
    limit: float
    passed: bool


class Evidence(Record):
    """What the research run measured for the proposed parameters (None: not measured)."""

    oos_sharpe: float | None
    """Walk-forward: the stitched out-of-sample Sharpe. Optimize: None (no OOS)."""
    oos_psr: float | None
    """Walk-forward: the Probabilistic Sharpe Ratio of the stitched OOS returns (Sharpe
    above 0). Optimize: None (no OOS), so a `min_oos_psr` gate cannot pass."""
    efficiency: float | None
    """Walk-forward efficiency (Pardo); None for an optimize or a losing in-sample."""
    pbo: float | None
    """Probability of Backtest Overfitting: an optimize's CSCV PBO over its trials; a
    walk-forward's mean over its windows."""
    stability: float | None
    """Walk-forward: the lowest share of windows that chose a parameter's most common
    value (1 = every window chose the same). Optimize: None."""
    in_sample_sharpe: float | None = None
    """The best trial's Sharpe (optimize) or the mean in-sample Sharpe (walk-forward)."""
    deflated_sharpe: float | None = None
    """Optimize: the best trial's Deflated Sharpe Ratio (in sample), for reading."""
    period_from: str
    period_to: str
    symbols: tuple[str, ...] = ()
    output: str | None = None
    """The run's report directory."""


class Proposal(Record):
    id: int
    strategy: str
    created_at: datetime
    run_id: str | None
    kind: ProposalKind
    strategy_class: str
    params: dict[str, Any]
    evidence: Evidence
    gates: tuple[GateResult, ...]
    passed: bool
    state: ProposalState
    decided_by: str | None = None
    decided_at: datetime | None = None
    version: int | None = None
    note: str = ""

    def failed_gates(self) -> tuple[GateResult, ...]:
        return tuple(g for g in self.gates if not g.passed)


class ProposalList(Record):
    proposals: tuple[Proposal, ...]


class PromotionResult(Record):
    """What an approve, reject or rollback did."""

    action: Literal["apply", "reject", "rollback"]
    strategy: str
    proposal: int | None
    """The proposal applied, rejected or rolled back."""
    version: int | None
    """The parameter-file version now live (None after a reject)."""
    params: dict[str, Any]
    """The parameters now in the live file (apply, rollback); the rejected ones (reject)."""
    params_file: str | None
    by: str
    reload: dict[str, list[str]] | None = None
    """The reload's plan: which workers it restarted."""
