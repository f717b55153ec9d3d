"""Records validate before any transaction and normalise what IB leaves empty."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from tests.persistence.conftest import T0
from tradd.persistence.records import FillRecord, NewOrder, PositionRow


def test_orders_normalise_empty_strings_and_int_quantities() -> None:
    order = NewOrder("GOOG", "BUY", 10, "LMT", limit_price=100, parent_ref="", oca_group="")
    assert (order.parent_ref, order.oca_group) == (None, None)
    assert isinstance(order.quantity, float) and isinstance(order.limit_price, float)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"symbol": " "}, "order symbol ' ': must not be blank"),
        ({"symbol": "X" * 33}, "longer than 32"),
        ({"side": "LONG"}, "order LONG GOOG: side 'LONG'"),
        ({"quantity": 0}, "quantity 0: must be a positive number"),
        ({"quantity": float("nan")}, "quantity nan"),
        ({"order_type": "MOC"}, "order type 'MOC'"),
        ({"tif": "GTD"}, "time in force 'GTD'"),
        ({"order_type": "LMT"}, "LMT order: limit price required"),
        ({"limit_price": 10.0}, "MKT order: limit price not allowed"),
        ({"order_type": "STP LMT", "limit_price": 10.0}, "STP LMT order: stop price required"),
        ({"order_type": "STP", "stop_price": -1.0}, "stop price -1.0"),
        ({"parent_index": -1}, "parent_index -1"),
        ({"parent_index": 0, "parent_ref": "sma_goog-1"}, "both parent_ref and parent_index"),
        ({"oca_group": "g" * 97}, "OCA group .* longer than 96"),
    ],
)
def test_bad_orders_are_refused_with_the_field_and_value(
    kwargs: dict[str, Any], message: str
) -> None:
    values: dict[str, Any] = {"symbol": "GOOG", "side": "BUY", "quantity": 1, "order_type": "MKT"}
    with pytest.raises(ValueError, match=message):
        NewOrder(**{**values, **kwargs})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"exec_id": ""}, "exec id '': must not be blank"),
        ({"exec_id": "e" * 65}, "longer than 64"),
        ({"side": "BOT"}, "fill e1: side 'BOT'"),
        ({"quantity": -5.0}, "fill e1: quantity -5.0"),
        ({"price": 0.0}, "fill e1: price 0.0"),
        ({"commission": float("inf")}, "fill e1: commission inf"),
        ({"executed_at": datetime(2024, 1, 2)}, "fill e1: execution time 2024-01-02T00:00:00"),
    ],
)
def test_bad_fills_are_refused_with_the_field_and_value(
    kwargs: dict[str, Any], message: str
) -> None:
    values: dict[str, Any] = {
        "exec_id": "e1", "order_ref": None, "symbol": "GOOG", "side": "BUY", "quantity": 1,
        "price": 10.0, "executed_at": T0,
    }  # fmt: skip
    with pytest.raises(ValueError, match=message):
        FillRecord(**{**values, **kwargs})


def test_fills_normalise_what_ib_leaves_empty() -> None:
    fill = FillRecord("e1", "", "GOOG", "SELL", 3, 10, T0, account="")
    assert (fill.order_ref, fill.account, fill.signed_quantity) == (None, None, -3.0)


def test_position_rows_refuse_non_finite_values() -> None:
    with pytest.raises(ValueError, match="position GOOG: market value nan"):
        PositionRow("GOOG", 1.0, market_value=float("nan"))
