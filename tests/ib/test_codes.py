"""IB's codes as tradd reads them (tradd.ib.codes): one reading for the worker and the
supervisor's emergency link."""

from __future__ import annotations

from tradd.ib.codes import is_cancel_ack, is_farm_status, is_notice, is_warning


def test_an_order_notice_or_a_warning_is_no_rejection_and_no_cancel() -> None:
    for code in (161, 399, 404, 2109, 10147, 10148, 10167, 10349, 2104, 2150):
        assert is_notice(code) and not is_cancel_ack(code), code


def test_ibs_own_cancel_is_a_cancel_and_a_rejection_is_neither() -> None:
    assert is_cancel_ack(202) and not is_notice(202)
    for code in (103, 110, 201, 321):
        assert not is_notice(code) and not is_cancel_ack(code), code


def test_the_warning_range_holds_the_farm_statuses() -> None:
    farms = (2103, 2104, 2105, 2106, 2107, 2108, 2157, 2158)
    assert all(is_farm_status(c) and is_warning(c) for c in farms)
    assert not is_farm_status(2109) and is_warning(2199)
    assert not is_warning(2099) and not is_warning(2200) and not is_warning(1100)
