"""Trading states, system orders, missing account data and the order-rate window."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tradd.config.risk import RiskSettings
from tradd.risk import Portfolio, RiskGate, Rule, TradingState

from .factories import NOW, buy, only, portfolio, rule, sell

LONG_GOOG = {"positions": {"GOOG": 100}, "prices": {"GOOG": 100.0}}


def test_halted_blocks_everything_but_system_orders() -> None:
    gate = RiskGate(RiskSettings(), state=TradingState.HALTED, reason="position mismatch")
    held = portfolio(**LONG_GOOG)
    for order in (buy("GOOG", 1, 100.0), sell("GOOG", 100, 100.0)):
        decision = gate.check_order(order, held)
        assert decision.blocked
        assert "HALTED (position mismatch)" in decision.reason
    system = gate.check_order(sell("GOOG", 100, 100.0, system=True), held)
    assert system.verdict == "SYSTEM" and system.allowed
    assert system.approved_quantity == 100
    assert system.state is TradingState.HALTED


def test_system_orders_bypass_every_rule() -> None:
    gate = RiskGate(only(max_order_value=rule(1, "BLOCK")))
    nan_account = portfolio(float("nan"))
    decision = gate.check_order(buy("GOOG", 1000, 100.0, system=True), nan_account)
    assert decision.verdict == "SYSTEM"
    assert decision.approved_quantity == 1000 and not decision.hits


def test_reducing_passes_exits_and_refuses_increases() -> None:
    gate = RiskGate(RiskSettings(), state=TradingState.REDUCING, reason="operator")
    held = portfolio(**LONG_GOOG)
    assert gate.check_order(sell("GOOG", 40, 100.0), held).verdict == "APPROVED"
    assert gate.check_order(sell("GOOG", 100, 100.0), held).verdict == "APPROVED"  # to flat
    refused = gate.check_order(buy("GOOG", 1, 100.0), held)
    assert refused.blocked and "only exposure-reducing orders pass" in refused.reason
    assert gate.check_order(sell("GOOG", 101, 100.0), held).blocked  # crosses into a short
    assert gate.check_order(sell("ORCL", 1, 10.0), held).blocked  # opens a short


def test_disabled_gate_passes_orders_but_not_trading_state() -> None:
    settings = RiskSettings(enabled=False, max_order_value={"limit": 1, "action": "BLOCK"})
    assert RiskGate(settings).check_order(buy("GOOG", 1000, 100.0), portfolio()).clean
    halted = RiskGate(settings, state=TradingState.HALTED, reason="mismatch")
    assert halted.check_order(buy("GOOG", 1, 100.0), portfolio()).blocked
    reducing = RiskGate(settings, state=TradingState.REDUCING, reason="operator")
    assert reducing.check_order(buy("GOOG", 1, 100.0), portfolio()).blocked
    assert RiskGate(settings).check_portfolio(portfolio(1.0, peak=100_000.0)) is None


@pytest.mark.parametrize("equity", [float("nan"), 0.0, -5.0, float("inf")])
def test_unknown_equity_refuses_increases_but_not_exits(equity: float) -> None:
    gate = RiskGate(RiskSettings())
    held = portfolio(equity, **LONG_GOOG)
    decision = gate.check_order(buy("GOOG", 1, 100.0), held)
    assert decision.blocked
    assert "no account equity known yet" in decision.reason
    assert gate.check_order(sell("GOOG", 100, 100.0), held).verdict == "APPROVED"
    assert gate.check_portfolio(held) is None


def test_unknown_gross_exposure_refuses_when_leverage_is_checked() -> None:
    nan_gross = portfolio(gross=float("nan"))
    refused = RiskGate(only(max_leverage=rule(2, "BLOCK"))).check_order(
        buy("GOOG", 1, 100.0), nan_gross
    )
    assert refused.blocked and "gross exposure" in refused.reason
    assert RiskGate(only()).check_order(buy("GOOG", 1, 100.0), nan_gross).clean


def test_rate_window_slides_with_the_injected_clock() -> None:
    gate = RiskGate(only(max_orders_per_minute=rule(3, "BLOCK")))

    def at(seconds: float) -> Portfolio:
        return portfolio(now=NOW + timedelta(seconds=seconds))

    for second in (0, 10, 20):
        assert gate.check_order(buy("GOOG", 1, 100.0), at(second)).verdict == "APPROVED"
    refused = gate.check_order(buy("GOOG", 1, 100.0), at(30))
    assert refused.blocked
    assert refused.hits[0].rule is Rule.MAX_ORDERS_PER_MINUTE
    assert refused.hits[0].value == 4
    assert refused.hits[0].message == (
        "4 orders in the last 60 s including this one (limit 3 a minute)"
    )
    assert gate.check_order(buy("GOOG", 1, 100.0), at(59.9)).blocked
    # at 60 s the first order is exactly a minute old and no longer counts; refused
    # orders never counted
    assert gate.check_order(buy("GOOG", 1, 100.0), at(60)).verdict == "APPROVED"
    assert gate.check_order(buy("GOOG", 1, 100.0), at(61)).blocked


def test_exits_count_toward_the_rate_but_are_never_refused_by_it() -> None:
    gate = RiskGate(only(max_orders_per_minute=rule(1, "BLOCK")))
    held = portfolio(**LONG_GOOG)
    assert gate.check_order(sell("GOOG", 10, 100.0), held).verdict == "APPROVED"
    assert gate.check_order(sell("GOOG", 10, 100.0), held).verdict == "APPROVED"
    assert gate.check_order(buy("GOOG", 1, 100.0), held).blocked


def test_rate_alert_lets_orders_through_and_counts_them() -> None:
    gate = RiskGate(only(max_orders_per_minute=rule(1, "ALERT")))
    assert gate.check_order(buy("GOOG", 1, 100.0), portfolio()).clean
    second = gate.check_order(buy("GOOG", 1, 100.0), portfolio())
    assert second.allowed and second.alerts[0].value == 2
    assert gate.check_order(buy("GOOG", 1, 100.0), portfolio()).alerts[0].value == 3


def test_operator_resume_clears_reducing() -> None:
    gate = RiskGate(only(max_drawdown=rule(15, "BLOCK")))
    assert gate.check_portfolio(portfolio(80_000.0, peak=100_000.0)) is not None
    assert gate.state is TradingState.REDUCING
    assert gate.reason.startswith("MAX_DRAWDOWN: equity 80,000.00 is 20.0% below")
    gate.set_state(TradingState.ACTIVE, "operator: peak reset")
    assert (gate.state, gate.reason) == (TradingState.ACTIVE, "operator: peak reset")
    assert gate.check_order(buy("GOOG", 1, 100.0), portfolio(80_000.0, peak=80_000.0)).clean


def test_set_state_rejects_an_unknown_state() -> None:
    gate = RiskGate(RiskSettings())
    with pytest.raises(ValueError, match="'PAUSED'"):
        gate.set_state("PAUSED", "typo")  # type: ignore[arg-type]
