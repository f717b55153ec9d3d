"""A future's order is worth quantity x price x multiplier: every value rule counts it."""

from __future__ import annotations

import pytest

from tradd.risk import OrderRequest, RiskGate

from .factories import only, portfolio, rule

# FESX at 3,800 with multiplier 10: one contract is worth 38,000.


def fesx(quantity: float, side: str = "BUY") -> OrderRequest:
    return OrderRequest("IDXFUT", side, quantity, 3800.0, multiplier=10)  # type: ignore[arg-type]


def test_order_value_counts_the_multiplier() -> None:
    gate = RiskGate(only(max_order_value=rule(50_000, "BLOCK")))
    assert gate.check_order(fesx(1), portfolio()).verdict == "APPROVED"  # 38,000
    decision = gate.check_order(fesx(2), portfolio())  # 76,000
    assert decision.blocked
    assert decision.hits[0].value == pytest.approx(76_000)


def test_position_size_counts_the_multiplier() -> None:
    gate = RiskGate(only(max_position_size=rule(25, "REDUCE_SIZE")))
    # 25% of 200,000 = 50,000 / 38,000 per contract = 1 contract
    decision = gate.check_order(fesx(5), portfolio(200_000.0))
    assert (decision.requested_quantity, decision.approved_quantity) == (5, 1)
    assert decision.hits[0].value == pytest.approx(5 * 38_000 / 200_000 * 100)


def test_leverage_counts_the_multiplier_of_the_held_position() -> None:
    gate = RiskGate(only(max_leverage=rule(1.0, "BLOCK")))
    # 2 contracts held (76,000 of the account's gross); buying 1 more: 114,000 of 100,000
    held = portfolio(positions={"IDXFUT": 2}, prices={"IDXFUT": 3800.0}, gross=76_000.0)
    decision = gate.check_order(fesx(1), held)
    assert decision.blocked
    assert decision.hits[0].value == pytest.approx(1.14)


def test_multiplier_must_be_positive() -> None:
    with pytest.raises(ValueError, match="multiplier"):
        OrderRequest("IDXFUT", "BUY", 1, 3800.0, multiplier=0)
