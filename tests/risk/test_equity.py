"""Equity rules without an order (`check_portfolio`) and the end of a daily-loss REDUCING."""

from __future__ import annotations

from tradd.risk import RiskGate, Rule, TradingState

from .factories import buy, only, portfolio, rule, sell

DAILY_BLOCK = only(max_daily_loss={"limit_pct": 3, "action": "BLOCK"})
HELD = {"positions": {"ORCL": -50, "GOOG": 100}, "prices": {"GOOG": 100.0, "ORCL": 20.0}}


def test_breach_is_reported_once_when_it_starts() -> None:
    gate = RiskGate(DAILY_BLOCK)
    assert gate.check_portfolio(portfolio(98_000.0, day_start=100_000.0)) is None  # 2%
    first = gate.check_portfolio(portfolio(96_000.0, day_start=100_000.0))  # 4%
    assert first is not None
    assert first.verdict == "BREACH" and first.request is None
    assert not first.allowed and not first.blocked
    assert [h.rule for h in first.hits] == [Rule.MAX_DAILY_LOSS]
    assert first.state is TradingState.REDUCING
    assert first.reason.endswith("(limit 3%); trading now REDUCING")
    assert gate.check_portfolio(portfolio(95_000.0, day_start=100_000.0)) is None
    assert gate.check_portfolio(portfolio(99_000.0, day_start=100_000.0)) is None
    assert gate.check_portfolio(portfolio(96_000.0, day_start=100_000.0)) is None  # same day


def test_alert_reports_only() -> None:
    gate = RiskGate(only(max_drawdown=rule(10, "ALERT")))
    decision = gate.check_portfolio(portfolio(85_000.0, peak=100_000.0))
    assert decision is not None and decision.alerts
    assert decision.state is TradingState.ACTIVE and not decision.close_symbols
    assert gate.check_order(buy("GOOG", 1, 100.0), portfolio(85_000.0)).clean


def test_drawdown_rearms_when_equity_recovers() -> None:
    gate = RiskGate(only(max_drawdown=rule(10, "ALERT")))
    assert gate.check_portfolio(portfolio(85_000.0, peak=100_000.0)) is not None
    assert gate.check_portfolio(portfolio(88_000.0, peak=100_000.0)) is None  # still 12%
    assert gate.check_portfolio(portfolio(95_000.0, peak=100_000.0)) is None  # recovered
    assert gate.check_portfolio(portfolio(89_000.0, peak=100_000.0)) is not None


def test_close_position_closes_everything_and_reduces() -> None:
    gate = RiskGate(only(max_drawdown=rule(15, "CLOSE_POSITION")))
    decision = gate.check_portfolio(portfolio(80_000.0, peak=100_000.0, **HELD))
    assert decision is not None
    assert decision.close_symbols == ("GOOG", "ORCL")
    assert gate.state is TradingState.REDUCING
    assert "closing GOOG, ORCL" in decision.reason
    # the caller's closes are system orders: they pass
    close = gate.check_order(sell("GOOG", 100, 100.0, system=True), portfolio(**HELD))
    assert close.verdict == "SYSTEM"


def test_an_order_that_sees_the_breach_first_keeps_check_portfolio_quiet() -> None:
    gate = RiskGate(DAILY_BLOCK)
    losing = portfolio(96_000.0, day_start=100_000.0)
    assert gate.check_order(buy("GOOG", 1, 100.0), losing).blocked
    assert gate.state is TradingState.REDUCING
    assert gate.check_portfolio(losing) is None


def test_daily_loss_reducing_ends_on_a_new_day() -> None:
    gate = RiskGate(DAILY_BLOCK)
    assert gate.check_portfolio(portfolio(96_000.0, day_start=100_000.0)) is not None
    assert gate.check_order(buy("GOOG", 1, 100.0), portfolio(96_000.0)).blocked
    gate.new_day()
    assert gate.state is TradingState.ACTIVE
    assert "new trading day" in gate.reason
    today = portfolio(96_000.0, day_start=96_000.0)
    assert gate.check_portfolio(today) is None
    assert gate.check_order(buy("GOOG", 1, 100.0), today).clean
    # and today's own breach is reported again
    assert gate.check_portfolio(portfolio(92_000.0, day_start=96_000.0)) is not None


def test_drawdown_reducing_outlasts_the_day() -> None:
    gate = RiskGate(
        only(
            max_daily_loss={"limit_pct": 3, "action": "BLOCK"},
            max_drawdown=rule(15, "BLOCK"),
        )
    )
    both = gate.check_portfolio(portfolio(80_000.0, day_start=100_000.0, peak=100_000.0))
    assert both is not None
    assert {h.rule for h in both.hits} == {Rule.MAX_DAILY_LOSS, Rule.MAX_DRAWDOWN}
    gate.new_day()
    assert gate.state is TradingState.REDUCING
    assert gate.reason.startswith("MAX_DRAWDOWN:")
    gate.new_day()
    assert gate.state is TradingState.REDUCING


def test_new_day_never_lifts_an_operator_state() -> None:
    gate = RiskGate(DAILY_BLOCK, state=TradingState.REDUCING, reason="operator: earnings")
    assert gate.check_portfolio(portfolio(96_000.0, day_start=100_000.0)) is not None
    gate.new_day()
    assert (gate.state, gate.reason) == (TradingState.REDUCING, "operator: earnings")
    halted = RiskGate(DAILY_BLOCK, state=TradingState.HALTED, reason="mismatch")
    decision = halted.check_portfolio(portfolio(96_000.0, day_start=100_000.0))
    assert decision is not None and decision.state is TradingState.HALTED
    halted.new_day()
    assert halted.state is TradingState.HALTED


def test_resume_rearms_a_breach_that_still_lasts() -> None:
    gate = RiskGate(only(max_drawdown=rule(15, "BLOCK")))
    deep = portfolio(80_000.0, peak=100_000.0)
    assert gate.check_portfolio(deep) is not None
    gate.set_state(TradingState.ACTIVE, "operator")
    again = gate.check_portfolio(deep)
    assert again is not None and gate.state is TradingState.REDUCING
