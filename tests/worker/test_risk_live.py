"""The risk gate in the live path: each action as configured, every decision persisted."""

from __future__ import annotations

from tradd.persistence.models import OrderStatus
from tradd.records.events import HaltCause

from .conftest import assert_ledger_matches_simulator


def notes(live):
    return live.worker.cerebro.runningstrats[0].notes


def off(**rules):
    """A [risk] table with every rule off except the given ones."""
    base = {k: {"limit": None} for k in ("max_position_size", "max_drawdown", "max_leverage",
                                         "position_limit", "max_orders_per_minute",
                                         "max_order_value")}  # fmt: skip
    base["max_daily_loss"] = {"limit": None, "limit_pct": None}
    base.update(rules)
    return base


def test_block_refuses_the_order_and_tells_the_strategy_why(launch, ledger_for, simulator):
    live = launch("1:BUY:100", risk=off(max_order_value={"limit": 10_000, "action": "BLOCK"}))
    live.advance(60)
    ledger = ledger_for()
    assert ledger.orders() == []
    (decision,) = ledger.risk_decisions()
    assert decision.action == "BLOCKED" and decision.rule == "MAX_ORDER_VALUE"
    assert decision.requested_qty == 100 and decision.approved_qty == 0
    assert "limit" in decision.reason
    ((_ref, status, _, reason),) = notes(live)
    assert status == "Rejected"
    assert reason == decision.reason  # the strategy is told exactly why
    assert "risk_breach" in live.engine.events.kinds()


def test_reduce_size_sends_the_resized_order(launch, ledger_for, simulator):
    live = launch("1:BUY:100",
                  risk=off(max_order_value={"limit": 10_000, "action": "REDUCE_SIZE"}))  # fmt: skip
    live.advance(60)
    ledger = ledger_for()
    (order,) = ledger.orders()
    assert order.quantity == 21  # floor(10,000 / ~463)
    assert order.status == OrderStatus.FILLED
    (decision,) = ledger.risk_decisions()
    assert decision.action == "RESIZED" and decision.approved_qty == 21
    assert decision.order_ref == order.order_ref
    assert [n[2] for n in notes(live) if n[1] == "Completed"] == [21.0]
    assert_ledger_matches_simulator(simulator, ledger)


def test_alert_lets_the_order_through_and_raises_an_event(launch, ledger_for, simulator):
    live = launch("1:BUY:100", risk=off(max_order_value={"limit": 10_000, "action": "ALERT"}))
    live.advance(60)
    ledger = ledger_for()
    assert ledger.orders()[0].quantity == 100
    assert ledger.risk_decisions()[0].action == "APPROVED"
    assert ledger.risk_decisions()[0].rule == "MAX_ORDER_VALUE"
    assert "risk_breach" in live.engine.events.kinds()


def test_close_position_closes_the_strategy_and_then_only_exits_pass(launch, ledger_for, simulator):
    risk = off(max_position_size={"limit": 1.0, "action": "CLOSE_POSITION"})
    live = launch("1:BUY:10;2:BUY:30;3:BUY:5", risk=risk)  # 10 fit; 40 shares > 1% of 1M
    for _ in range(3):
        live.advance(60)
    ledger = ledger_for()
    refs = [(o.order_ref, o.side, o.quantity, o.status) for o in ledger.orders()]
    assert refs == [
        ("s1-1", "BUY", 10, OrderStatus.FILLED),
        ("s1-2", "SELL", 10, OrderStatus.FILLED),
    ]
    actions = [d.action for d in ledger.risk_decisions()]
    assert actions == ["APPROVED", "BLOCKED", "SYSTEM", "BLOCKED"]  # the close, then REDUCING
    assert live.engine.manager.gate.state == "REDUCING"
    assert ledger.state().trading_state == "REDUCING"
    assert ledger.account_positions() == {}
    assert_ledger_matches_simulator(simulator, ledger)


def test_orders_per_minute(launch, ledger_for, simulator):
    risk = off(max_orders_per_minute={"limit": 2, "action": "BLOCK"})
    live = launch("1:BUY:1;1:BUY:1;1:BUY:1;3:BUY:1", risk=risk)
    for _ in range(3):
        live.advance(60)
    ledger = ledger_for()
    assert [d.action for d in ledger.risk_decisions()] == ["APPROVED", "APPROVED", "BLOCKED",
                                                            "APPROVED"]  # fmt: skip


def test_halted_state_survives_a_restart(launch, ledger_for, simulator, start_worker, tmp_path):
    live = launch("")
    live.engine.halt("test: position mismatch", HaltCause.POSITION_MISMATCH)
    live.stop()
    ledger = ledger_for()
    assert ledger.state().trading_state == "HALTED"
    settings = live.worker.settings
    again = start_worker(settings, simulator).ready()
    assert again.engine.manager.gate.state == "HALTED"
    assert again.worker.command("status")["trading_reason"] == "test: position mismatch"
