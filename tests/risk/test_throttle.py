from __future__ import annotations

from datetime import timedelta

import pytest

from tradd.risk.throttle import OrderRateWindow

from .factories import NOW


def test_window_counts_orders_younger_than_a_minute() -> None:
    window = OrderRateWindow()
    for seconds in (0, 30, 59):
        window.record(NOW + timedelta(seconds=seconds))
    assert window.count(NOW + timedelta(seconds=59)) == 3
    assert window.count(NOW + timedelta(seconds=60)) == 2  # the first is exactly 60 s old
    assert window.count(NOW + timedelta(seconds=119)) == 0


def test_an_out_of_order_time_is_kept_in_order() -> None:
    window = OrderRateWindow()
    window.record(NOW + timedelta(seconds=50))
    window.record(NOW)  # a clock stepped back
    assert window.count(NOW + timedelta(seconds=61)) == 1


def test_window_must_be_positive() -> None:
    with pytest.raises(ValueError, match="0:00:00 is not positive"):
        OrderRateWindow(timedelta(0))
