"""Each rule and action through the gate, with numbers worked out by hand in the comments."""

from __future__ import annotations

import pytest

from tradd.risk import RiskGate, Rule, TradingState

from .factories import buy, only, portfolio, rule, sell

# --- MAX_POSITION_SIZE -------------------------------------------------------------------


def test_position_size_block_names_symbol_value_and_limit() -> None:
    gate = RiskGate(only(max_position_size=rule(25, "BLOCK")))
    # 312 x 100 = 31,200 of 100,000 = 31.2%
    decision = gate.check_order(buy("GOOG", 312, 100.0), portfolio())
    assert decision.blocked and decision.verdict == "BLOCKED"
    assert decision.approved_quantity == 0
    (hit,) = decision.hits
    assert (hit.rule, hit.action, hit.limit) == (Rule.MAX_POSITION_SIZE, "BLOCK", 25)
    assert hit.value == pytest.approx(31.2)
    assert hit.message == "GOOG position would be 31.2% of net liquidation (limit 25%)"
    assert decision.reason == f"refused: {hit.message}"
    assert gate.state is TradingState.ACTIVE  # a refused order changes no state


def test_position_size_at_the_limit_passes() -> None:
    gate = RiskGate(only(max_position_size=rule(25, "BLOCK")))
    decision = gate.check_order(buy("GOOG", 250, 100.0), portfolio())  # exactly 25%
    assert decision.verdict == "APPROVED" and decision.clean


def test_position_size_counts_the_existing_position() -> None:
    gate = RiskGate(only(max_position_size=rule(25, "BLOCK")))
    held = portfolio(positions={"GOOG": 200}, prices={"GOOG": 100.0})
    assert gate.check_order(buy("GOOG", 50, 100.0), held).verdict == "APPROVED"  # 250: 25%
    assert gate.check_order(buy("GOOG", 51, 100.0), held).blocked  # 251: 25.1%


def test_reduce_size_rounds_down_to_whole_shares() -> None:
    gate = RiskGate(only(max_position_size=rule(25, "REDUCE_SIZE")))
    # 25% of 100,000 = 25,000 / 130 = 192.3 shares; 50 held -> 142 more
    held = portfolio(positions={"GOOG": 50}, prices={"GOOG": 130.0})
    decision = gate.check_order(buy("GOOG", 400, 130.0), held)
    assert decision.verdict == "RESIZED" and decision.resized and decision.allowed
    assert (decision.requested_quantity, decision.approved_quantity) == (400, 142)
    assert decision.reason.startswith("resized 400 to 142: GOOG position would be")


def test_reduce_size_survives_float_noise() -> None:
    gate = RiskGate(only(max_position_size=rule(10, "REDUCE_SIZE")))
    # 10% of 70,000 / 0.07 computes as 99999.99999999999: that is 100,000 shares
    decision = gate.check_order(buy("PENNY", 200_000, 0.07), portfolio(70_000.0))
    assert decision.approved_quantity == 100_000


def test_reduce_size_below_one_share_is_blocked() -> None:
    gate = RiskGate(only(max_position_size=rule(25, "REDUCE_SIZE")))
    # 25,000 / 30,000 = 0.83 of a share
    decision = gate.check_order(buy("BRK", 2, 30_000.0), portfolio())
    assert decision.blocked
    assert decision.hits[0].rule is Rule.MAX_POSITION_SIZE
    assert "fits less than one share" in decision.reason


def test_short_positions_are_measured_by_their_size() -> None:
    gate = RiskGate(only(max_position_size=rule(25, "REDUCE_SIZE")))
    held = portfolio(positions={"GOOG": -200}, prices={"GOOG": 100.0})
    decision = gate.check_order(sell("GOOG", 100, 100.0), held)  # -300: 30%
    assert decision.approved_quantity == 50  # -250: 25%


def test_crossing_through_zero_is_checked_on_the_resulting_position() -> None:
    held = portfolio(positions={"GOOG": 100}, prices={"GOOG": 100.0})
    blocking = RiskGate(only(max_position_size=rule(25, "BLOCK")))
    # long 100, sell 400 -> short 300 = 30%: an increase, refused
    assert blocking.check_order(sell("GOOG", 400, 100.0), held).blocked
    # sell 300 -> short 200 = 20%: passes
    assert blocking.check_order(sell("GOOG", 300, 100.0), held).verdict == "APPROVED"
    resizing = RiskGate(only(max_position_size=rule(25, "REDUCE_SIZE")))
    # the 100 that close the long always fit, plus 250 short (25%): 350
    assert resizing.check_order(sell("GOOG", 400, 100.0), held).approved_quantity == 350


def test_position_size_close_position_closes_that_symbol() -> None:
    gate = RiskGate(only(max_position_size=rule(25, "CLOSE_POSITION")))
    held = portfolio(positions={"GOOG": 200, "ORCL": 10}, prices={"GOOG": 100.0, "ORCL": 10.0})
    decision = gate.check_order(buy("GOOG", 100, 100.0), held)  # 300: 30%
    assert decision.blocked
    assert decision.close_symbols == ("GOOG",)
    assert decision.state is TradingState.REDUCING is gate.state
    assert "closing GOOG" in decision.reason and "trading now REDUCING" in decision.reason


# --- MAX_ORDER_VALUE ---------------------------------------------------------------------


def test_order_value_block_and_alert() -> None:
    order = buy("GOOG", 150, 100.0)  # 15,000
    blocked = RiskGate(only(max_order_value=rule(10_000, "BLOCK"))).check_order(order, portfolio())
    assert blocked.blocked
    assert blocked.hits[0].message == "GOOG order value 15,000.00 exceeds limit 10,000.00"
    alerted = RiskGate(only(max_order_value=rule(10_000, "ALERT"))).check_order(order, portfolio())
    assert alerted.verdict == "APPROVED" and alerted.approved_quantity == 150
    assert [h.rule for h in alerted.alerts] == [Rule.MAX_ORDER_VALUE]
    assert not alerted.clean
    assert alerted.reason.startswith("alert: GOOG order value 15,000.00")


def test_order_value_reduce_size() -> None:
    gate = RiskGate(only(max_order_value=rule(10_000, "REDUCE_SIZE")))
    # 10,000 / 99 = 101.01 shares
    assert gate.check_order(buy("GOOG", 150, 99.0), portfolio()).approved_quantity == 101


# --- MAX_LEVERAGE ------------------------------------------------------------------------

LEVERED = {"net_liquidation": 100_000.0, "positions": {"GOOG": 100}, "prices": {"GOOG": 100.0}}


def test_leverage_counts_the_whole_account_and_the_order() -> None:
    # account gross 150,000 (10,000 of it our GOOG); buying 600 more: 140,000 + 700 x 100
    held = portfolio(**LEVERED, gross=150_000.0)
    decision = RiskGate(only(max_leverage=rule(2, "BLOCK"))).check_order(
        buy("GOOG", 600, 100.0), held
    )
    assert decision.blocked
    assert decision.hits[0].value == pytest.approx(2.1)
    assert decision.hits[0].message == (
        "account leverage would be 2.10x net liquidation (limit 2x)"
    )


def test_leverage_reduce_size() -> None:
    held = portfolio(**LEVERED, gross=150_000.0)
    gate = RiskGate(only(max_leverage=rule(2, "REDUCE_SIZE")))
    # room: 200,000 - 140,000 = 60,000 = 600 shares of GOOG in all, 100 held -> 500
    assert gate.check_order(buy("GOOG", 600, 100.0), held).approved_quantity == 500


def test_leverage_close_position_closes_everything() -> None:
    held = portfolio(
        positions={"GOOG": 100, "ORCL": -50, "FLAT": 0},
        prices={"GOOG": 100.0, "ORCL": 20.0},
        gross=195_000.0,
    )
    decision = RiskGate(only(max_leverage=rule(2, "CLOSE_POSITION"))).check_order(
        buy("NVDA", 100, 100.0), held
    )
    assert decision.blocked
    assert decision.close_symbols == ("GOOG", "ORCL")
    assert decision.state is TradingState.REDUCING


def test_every_resizing_rule_must_fit() -> None:
    gate = RiskGate(
        only(
            max_position_size=rule(25, "REDUCE_SIZE"),  # 250 shares
            max_order_value=rule(12_000, "REDUCE_SIZE"),  # 120 shares
        )
    )
    decision = gate.check_order(buy("GOOG", 400, 100.0), portfolio())
    assert decision.approved_quantity == 120
    assert {h.rule for h in decision.hits} == {Rule.MAX_POSITION_SIZE, Rule.MAX_ORDER_VALUE}


def test_blocking_rules_see_the_resized_order() -> None:
    gate = RiskGate(
        only(
            max_position_size=rule(25, "REDUCE_SIZE"),  # -> 250 shares, 25,000
            max_order_value=rule(20_000, "BLOCK"),  # 25,000 > 20,000: refused
        )
    )
    decision = gate.check_order(buy("GOOG", 400, 100.0), portfolio())
    assert decision.blocked
    assert decision.hits[-1].rule is Rule.MAX_ORDER_VALUE
    assert decision.hits[-1].value == 25_000


# --- POSITION_LIMIT ----------------------------------------------------------------------


def test_position_limit_counts_the_symbol_the_order_opens() -> None:
    gate = RiskGate(only(position_limit=rule(2, "BLOCK")))
    held = portfolio(positions={"GOOG": 10, "ORCL": -5, "FLAT": 0}, prices={})
    decision = gate.check_order(buy("NVDA", 1, 10.0), held)
    assert decision.blocked
    assert decision.hits[0].value == 3
    assert decision.hits[0].message == "NVDA would make 3 open positions (limit 2)"
    assert gate.check_order(buy("GOOG", 1, 10.0), held).verdict == "APPROVED"
    assert gate.check_order(buy("FLAT", 1, 10.0), held).blocked


# --- MAX_DAILY_LOSS and MAX_DRAWDOWN on an order -----------------------------------------


def test_daily_loss_percentage_blocks_and_sets_reducing() -> None:
    gate = RiskGate(only(max_daily_loss={"limit_pct": 3, "action": "BLOCK"}))
    # 100,000 -> 96,500: 3,500 lost = 3.5%
    decision = gate.check_order(buy("GOOG", 1, 100.0), portfolio(96_500.0, day_start=100_000.0))
    assert decision.blocked
    (hit,) = decision.hits
    assert hit.rule is Rule.MAX_DAILY_LOSS
    assert (hit.value, hit.limit) == (pytest.approx(3.5), 3)
    assert hit.message == ("daily loss 3,500.00 is 3.50% of day-start equity 100,000.00 (limit 3%)")
    assert gate.state is TradingState.REDUCING


def test_daily_loss_either_limit_breaches() -> None:
    losing = portfolio(96_500.0, day_start=100_000.0)
    absolute = RiskGate(only(max_daily_loss={"limit": 3_000, "limit_pct": 5}))
    hit = absolute.check_order(buy("GOOG", 1, 100.0), losing).hits[0]
    assert (hit.value, hit.limit) == (3_500, 3_000)
    percent = RiskGate(only(max_daily_loss={"limit": 5_000, "limit_pct": 3}))
    hit = percent.check_order(buy("GOOG", 1, 100.0), losing).hits[0]
    assert (hit.value, hit.limit) == (pytest.approx(3.5), 3)
    neither = RiskGate(only(max_daily_loss={"limit": 5_000, "limit_pct": 4}))
    assert neither.check_order(buy("GOOG", 1, 100.0), losing).clean


def test_daily_loss_without_a_baseline_does_not_fire() -> None:
    gate = RiskGate(only(max_daily_loss={"limit_pct": 3}))
    assert gate.check_order(buy("GOOG", 1, 100.0), portfolio(50_000.0)).clean
    nan_start = portfolio(50_000.0, day_start=float("nan"))
    assert gate.check_order(buy("GOOG", 1, 100.0), nan_start).clean


def test_drawdown_alert_lets_the_order_through() -> None:
    gate = RiskGate(only(max_drawdown=rule(15, "ALERT")))
    # peak 120,000, now 100,000: 16.7% below
    decision = gate.check_order(buy("GOOG", 1, 100.0), portfolio(peak=120_000.0))
    assert decision.verdict == "APPROVED"
    (hit,) = decision.alerts
    assert hit.value == pytest.approx(100 / 6)
    assert hit.message == "equity 100,000.00 is 16.7% below its peak 120,000.00 (limit 15%)"
    assert gate.state is TradingState.ACTIVE


def test_exits_pass_whatever_the_rules_say() -> None:
    gate = RiskGate(
        only(
            max_position_size=rule(1, "BLOCK"),
            max_order_value=rule(1, "BLOCK"),
            max_drawdown=rule(1, "CLOSE_POSITION"),
        )
    )
    held = portfolio(50_000.0, positions={"GOOG": 500}, prices={"GOOG": 100.0}, peak=100_000.0)
    decision = gate.check_order(sell("GOOG", 500, 100.0), held)
    assert decision.verdict == "APPROVED" and decision.clean
    assert gate.state is TradingState.ACTIVE


def test_an_order_resized_to_flat_opens_no_position() -> None:
    gate = RiskGate(only(max_position_size=rule(0, "REDUCE_SIZE"), position_limit=rule(1, "BLOCK")))
    held = portfolio(positions={"GOOG": 100, "ORCL": 5}, prices={"GOOG": 100.0, "ORCL": 1.0})
    # a reversal with no room for a short is cut to the exit: flat GOOG, ORCL the only position
    decision = gate.check_order(sell("GOOG", 300, 100.0), held)
    assert decision.approved_quantity == 100
    assert [h.rule for h in decision.hits] == [Rule.MAX_POSITION_SIZE]
