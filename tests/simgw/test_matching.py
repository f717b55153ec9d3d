"""The matching engine on its own, against a one-price stub tape: bracket and OCA safety,
modifications, and orders never filled on prices from before they existed."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from tradd.simgw.account import AccountState
from tradd.simgw.contracts import ContractQuery
from tradd.simgw.matching import Exchange, OrderRejected
from tradd.simgw.orders import PlaceOrder, SimOrder
from tradd.simgw.state import SimState
from tradd.simgw.tape import Quote

QUOTE = Quote(0, 100, 100.5, 99.5, 100, 1000, 99.99, 100.01)
SESSION_END = 1000
INST: Any = SimpleNamespace(con_id=1, min_tick=0.01, sec_type="STK", symbol="X", currency="USD",
                            is_forex=False, value_multiplier=1.0)  # fmt: skip
CONTRACT = ContractQuery(0, "X", "STK", "SMART", "", "USD", "")


class StubTape:
    instrument = INST

    def last_quote_before(self, t: int) -> Quote:
        return QUOTE

    def bar_index(self, t: int) -> int:
        return 0

    def session_end(self, t: int) -> int:
        return SESSION_END

    def same_session(self, a: int, b: int) -> bool:
        return True


class Recorder:
    def __init__(self) -> None:
        self.cancelled: list[int] = []

    def order_changed(self, order: SimOrder) -> None:
        pass

    def order_filled(self, order: SimOrder, execution: Any) -> None:
        pass

    def order_cancelled(self, order: SimOrder, code: int | None, message: str) -> None:
        self.cancelled.append(order.order_id)


def req(oid: int, action: str, qty: float, kind: str, lmt: float | None = None,
        aux: float | None = None, tif: str = "DAY", parent: int = 0,
        transmit: bool = True) -> PlaceOrder:  # fmt: skip
    return PlaceOrder(oid, CONTRACT, "STK", action, qty, kind, lmt, aux, tif, "", "", "",
                      transmit, parent, False, False)  # fmt: skip


@pytest.fixture
def exchange() -> Exchange:
    state = SimState(AccountState("DU1", 1e6), 0)
    return Exchange(state, {1: StubTape()}, Recorder(), lambda: 0, 0)  # type: ignore[dict-item]


def bucket(start: int, price: float) -> Quote:
    return Quote(start, price, price + 0.1, price - 0.1, price, 1000, price - 0.01, price + 0.01)


def test_expired_parent_takes_its_children_with_it(exchange: Exchange) -> None:
    parent = exchange.place(req(1, "BUY", 100, "LMT", 90.0, transmit=False), 1, INST, 1)
    child = exchange.place(req(2, "SELL", 100, "STP", aux=80.0, tif="GTC", parent=1), 1, INST, 1)
    exchange.expire(SESSION_END)
    assert parent.status == child.status == "Cancelled"
    exchange.on_bucket(1, bucket(5, 79.0))
    assert exchange.state.account.positions == {}  # no orphaned stop selling short


def test_partial_fills_shrink_bracket_siblings(exchange: Exchange) -> None:
    exchange.place(req(10, "BUY", 90, "LMT", 100.01, transmit=False), 1, INST, 1)
    exchange.place(req(11, "SELL", 90, "LMT", 101.0, tif="GTC", parent=10, transmit=False),
                   1, INST, 3)  # fmt: skip
    exchange.place(req(12, "SELL", 90, "STP", aux=99.0, tif="GTC", parent=10), 1, INST, 3)
    for k, price in enumerate([99.0, 101.5, 101.5, 101.5]):
        exchange.on_bucket(1, bucket(5 * (k + 1), price))
    position = exchange.state.account.positions.get(1)
    assert position is None or position.quantity >= 0  # never sold more than it bought


def test_modify_changes_type_and_revalidates(exchange: Exchange) -> None:
    order = exchange.place(req(3, "BUY", 10, "LMT", 90.0), 1, INST, 1)
    assert order.status == "Submitted"
    with pytest.raises(OrderRejected) as zero:
        exchange.modify(order, req(3, "BUY", 0, "LMT", 90.0), INST)
    assert zero.value.code == 434 and order.total_qty == 10  # IB: "The order size cannot be zero."
    with pytest.raises(OrderRejected) as side:
        exchange.modify(order, req(3, "SELL", 10, "LMT", 90.0), INST)
    assert side.value.code == 105
    exchange.modify(order, req(3, "BUY", 10, "MKT"), INST)
    assert order.order_type == "MKT" and order.status == "Filled"


def test_modify_tif_moves_the_expiry(exchange: Exchange) -> None:
    order = exchange.place(req(20, "BUY", 10, "LMT", 90.0), 1, INST, 1)
    exchange.modify(order, req(20, "BUY", 10, "LMT", 90.0, tif="GTC"), INST)
    exchange.expire(SESSION_END)
    assert order.status == "Submitted"


def test_resting_order_ignores_buckets_from_before_it(exchange: Exchange) -> None:
    exchange.now = lambda: 12  # placed inside the bucket [10, 15)
    order = exchange.place(req(30, "BUY", 10, "LMT", 95.0), 1, INST, 1)
    exchange.on_bucket(1, bucket(10, 94.0))
    assert order.filled == 0
    exchange.on_bucket(1, bucket(15, 94.0))
    assert order.status == "Filled"
