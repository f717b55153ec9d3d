"""TWS's validation of historical requests and HMDS's step-size rule, without a socket."""

from __future__ import annotations

import pytest

from tradd.simgw import history_rules as rules
from tradd.simgw.history_rules import HistoryRequestError


def _code(fn, *args) -> int:
    with pytest.raises(HistoryRequestError) as info:
        fn(*args)
    return info.value.code


def test_bar_sizes_with_ibs_aliases_for_week_and_month() -> None:
    assert rules.bar_seconds("1 secs") == 1
    assert rules.bar_seconds("1 week") == rules.bar_seconds("1W") == rules.WEEK
    assert rules.bar_seconds("1 month") == rules.bar_seconds("1M") == rules.MONTH
    for bad in ("1 sec", "7 mins", "1 minute", "", "1min", "1 year"):
        assert _code(rules.bar_seconds, bad) == 321


def test_durations_within_twss_limits_per_unit() -> None:
    assert rules.parse_duration("30 S") == (30, "S")
    assert rules.parse_duration("3600") == (3600, "S")  # a bare number is seconds
    assert rules.parse_duration("365 D") == (365, "D")
    assert rules.parse_duration("2 y") == (2, "Y")
    for bad in ("29 S", "86401 S", "366 D", "53 W", "13 M", "0 D", "2 X", "1.5 D", "D", ""):
        assert _code(rules.parse_duration, bad) == 321, bad


@pytest.mark.parametrize(
    ("size", "longest", "too_long"),
    [(1, "1800 S", "2000 S"), (5, "3600 S", "7200 S"), (30, "28800 S", "1 D"),
     (60, "1 W", "8 D"), (300, "1 M", "2 M"), (3600, "1 Y", "2 Y")],
)  # fmt: skip
def test_step_size_rule(size: int, longest: str, too_long: str) -> None:
    rules.check_step(size, longest)
    assert _code(rules.check_step, size, too_long) == 162
    rules.check_step(rules.DAY, "20 Y")  # daily bars: no limit


def test_request_checks_in_twss_order() -> None:
    check = rules.check_request
    assert check("TRADES", "1 day", "1 Y", "", 1) == rules.DAY
    # the duration is checked before the bar size, ADJUSTED_LAST's end before both
    with pytest.raises(HistoryRequestError, match="duration is invalid"):
        check("TRADES", "7 mins", "0 D", "", 1)
    with pytest.raises(HistoryRequestError, match="End date not supported with adjusted last"):
        check("ADJUSTED_LAST", "7 mins", "1 D", "20060110 10:00:00", 1)
    with pytest.raises(HistoryRequestError, match="Only daily resolution supported"):
        check("SCHEDULE", "1 hour", "1 D", "", 1)
    with pytest.raises(HistoryRequestError, match="Date formatting selection of 4 rejected"):
        check("TRADES", "1 hour", "1 D", "", 4)


def test_what_the_data_farm_serves() -> None:
    rules.check_served("MIDPOINT", "CASH", "EUR", 60)
    rules.check_served("TRADES", "STK", "GOOG", 60)
    with pytest.raises(HistoryRequestError) as info:
        rules.check_served("TRADES", "CASH", "EUR", rules.DAY)
    assert info.value.code == 162
    assert str(info.value).endswith("No historical market data for EUR/CASH@FXSUBPIP Last 1d")
    assert _code(rules.check_served, "YIELD_BID", "STK", "GOOG", 60) == 162
