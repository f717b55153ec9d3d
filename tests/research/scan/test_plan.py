"""Strategy discovery for `--strategies all`, and the default period."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tradd.errors import DataError, UsageError
from tradd.marketdata.store import DataStore
from tradd.research.scan.discover import discover_strategies, resolve_strategies
from tradd.research.scan.plan import resolve_period
from tradd.strategy import Strategy


def test_all_finds_each_strategy_class_of_the_strategies_package_once() -> None:
    assert discover_strategies() == (
        "strategies.breakout.DonchianBreakout",
        "strategies.rsi.RsiReversion",
        "strategies.sma_cross.SmaCross",
    )
    resolved = resolve_strategies(("strategies.rsi.RsiReversion", "all"))
    assert [p for p, _ in resolved] == [
        "strategies.rsi.RsiReversion", "strategies.breakout.DonchianBreakout",
        "strategies.sma_cross.SmaCross",
    ]  # fmt: skip
    assert all(issubclass(c, Strategy) and c is not Strategy for _, c in resolved)
    with pytest.raises(UsageError, match="module 'strategies.nope' not found"):
        resolve_strategies(("strategies.nope.Nope",))


def test_the_default_period_is_the_365_days_up_to_the_last_bar_all_symbols_have(
    data_dir: Path,
) -> None:
    store = DataStore(data_dir)
    both = resolve_period(("ORCL", "NVDA"), None, None, "1d", store)  # both end 2014-12-31
    assert (both.start, both.end, both.defaulted, both.note) == (
        date(2014, 1, 1), date(2014, 12, 31), True, None,
    )  # fmt: skip
    assert (both.end - both.start).days + 1 == 365
    # GOOG ends 2013-03-01, YHOO 2015-12-31: the earliest, so both are scanned alike.
    mixed = resolve_period(("GOOG", "YHOO", "NOPE"), None, None, "1d", store)
    assert (mixed.start, mixed.end) == (date(2012, 3, 2), date(2013, 3, 1))
    assert mixed.note == (
        "the symbols' data ends on different days (GOOG 2013-03-01, YHOO 2015-12-31): "
        "the period ends at the earliest"
    )
    only_end = resolve_period(("GOOG",), None, date(2010, 6, 30), "1d", store)
    assert (only_end.start, only_end.end) == (date(2009, 7, 1), date(2010, 6, 30))
    only_start = resolve_period(("GOOG", "NOPE"), date(2012, 1, 1), None, "1d", store)
    assert (only_start.start, only_start.end) == (date(2012, 1, 1), date(2013, 3, 1))
    given = resolve_period(("NOPE",), date(2012, 1, 1), date(2012, 3, 1), "1d", store)
    assert not given.defaulted
    with pytest.raises(DataError, match="none of the symbols has 1d data"):
        resolve_period(("NOPE",), None, None, "1d", store)
    with pytest.raises(UsageError, match="--start 2012-03-01 is after --end 2012-01-01"):
        resolve_period(("GOOG",), date(2012, 3, 1), date(2012, 1, 1), "1d", store)
