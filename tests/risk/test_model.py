"""Input checks on the gate's types, the verdicts and the log line."""

from __future__ import annotations

from datetime import datetime

import pytest

from tradd.risk import Decision, OrderRequest, Portfolio, RiskGate, TradingState, describe

from .factories import NOW, buy, only, portfolio, rule


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"quantity": 0.0}, "OrderRequest.quantity: 0.0 is not a positive number"),
        ({"quantity": -5.0}, "OrderRequest.quantity: -5.0 is not a positive number"),
        ({"quantity": float("nan")}, "OrderRequest.quantity: nan is not a positive number"),
        ({"price": 0.0}, "OrderRequest.price: 0.0 is not a positive number"),
        ({"price": float("inf")}, "OrderRequest.price: inf is not a positive number"),
        ({"side": "HOLD"}, "OrderRequest.side: 'HOLD' is not BUY or SELL"),
        ({"symbol": ""}, "OrderRequest.symbol: empty"),
    ],
)
def test_bad_order_request_names_the_field_and_value(
    kwargs: dict[str, object], message: str
) -> None:
    fields: dict[str, object] = {"symbol": "GOOG", "side": "BUY", "quantity": 1.0, "price": 10.0}
    with pytest.raises(ValueError) as caught:
        OrderRequest(**{**fields, **kwargs})  # type: ignore[arg-type]
    assert str(caught.value) == message


def test_portfolio_needs_an_aware_time_and_finite_positions() -> None:
    with pytest.raises(ValueError, match=r"Portfolio.now: 2024-03-01T15:00:00 has no time zone"):
        Portfolio(datetime(2024, 3, 1, 15), 1.0, {}, {}, 0.0)
    with pytest.raises(ValueError, match=r"Portfolio.positions\['GOOG'\]: nan is not finite"):
        Portfolio(NOW, 1.0, {"GOOG": float("nan")}, {}, 0.0)
    assert not Portfolio(NOW, float("nan"), {}, {}, 0.0).equity_known


def test_verdicts() -> None:
    order = buy("GOOG", 10, 1.0)
    approved = Decision(10, 10, (), TradingState.ACTIVE, request=order)
    resized = Decision(10, 4, (), TradingState.ACTIVE, request=order)
    blocked = Decision(10, 0, (), TradingState.ACTIVE, request=order)
    system = Decision(10, 10, (), TradingState.HALTED, request=buy("GOOG", 10, 1.0, system=True))
    breach = Decision(0, 0, (), TradingState.REDUCING)
    assert [d.verdict for d in (approved, resized, blocked, system, breach)] == [
        "APPROVED", "RESIZED", "BLOCKED", "SYSTEM", "BREACH",
    ]  # fmt: skip
    assert approved.clean and not resized.clean and not system.clean
    assert (resized.allowed, resized.resized, blocked.blocked) == (True, True, True)


def test_describe_is_one_readable_line() -> None:
    gate = RiskGate(only(max_position_size=rule(25, "REDUCE_SIZE")))
    decision = gate.check_order(buy("GOOG", 400, 100.0), portfolio())
    assert describe(decision) == (
        "RESIZED BUY 400 GOOG @ 100 -> 250 [MAX_POSITION_SIZE:REDUCE_SIZE] - resized 400 to 250: "
        "GOOG position would be 40.0% of net liquidation (limit 25%) state ACTIVE"
    )
    breach = RiskGate(only(max_drawdown=rule(15, "CLOSE_POSITION"))).check_portfolio(
        portfolio(80_000.0, positions={"GOOG": 1}, prices={"GOOG": 1.0}, peak=100_000.0)
    )
    assert breach is not None
    text = describe(breach)
    assert text.startswith("BREACH portfolio [MAX_DRAWDOWN:CLOSE_POSITION]")
    assert text.endswith("(close GOOG) state REDUCING")
    assert "\n" not in text
