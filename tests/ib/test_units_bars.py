"""`BarAggregator`: 5-second bars into 1-minute and daily bars, exact and without delay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tradd.ib.bars import DAY, BarAggregator, bar_end
from tradd.ib.types import Bar


def at(hh: int, mm: int, ss: int = 0, day: tuple[int, int, int] = (2024, 3, 11)) -> datetime:
    return datetime(*day, hh, mm, ss, tzinfo=UTC)


def five(start: datetime, close: float = 100.0, *, o=None, h=None, lo=None, v: float = 10.0):
    o = close if o is None else o
    return Bar("GOOG", start, 5, o, max(o, close) if h is None else h,
               min(o, close) if lo is None else lo, close, v)  # fmt: skip


def run(agg: BarAggregator, bars: list[Bar]) -> list[list[Bar]]:
    return [agg.add(b) for b in bars]


# -- 1-minute bars -----------------------------------------------------------------------------
def test_minute_bar_ohlcv_is_exact_and_emitted_with_the_closing_five_second_bar() -> None:
    agg = BarAggregator("GOOG", 60)
    start = at(14, 0)
    prices = [100.0, 101.0, 99.5, 100.2, 102.5, 101.0, 100.0, 98.75, 99.0, 99.5, 100.0, 100.25]
    bars = [
        five(start + timedelta(seconds=5 * i), p, o=p - 0.1, h=p + 0.3, lo=p - 0.4, v=i + 1.0)
        for i, p in enumerate(prices)
    ]
    out = run(agg, bars)
    assert out[:-1] == [[]] * 11  # nothing before the bar starting at 14:00:55 arrives
    assert out[-1] == [Bar("GOOG", start, 60, 99.9, 102.8, 98.35, 100.25, 78.0)]


def test_minute_bar_single_five_second_bar_at_period_end_is_a_whole_bar() -> None:
    agg = BarAggregator("GOOG", 60)
    assert agg.add(five(at(14, 0, 55), 50.0, v=3)) == [
        Bar("GOOG", at(14, 0), 60, 50.0, 50.0, 50.0, 50.0, 3.0)
    ]


def test_gap_closes_the_previous_bar_when_a_later_period_arrives() -> None:
    agg = BarAggregator("GOOG", 60)
    assert run(agg, [five(at(14, 0, 0), 10.0), five(at(14, 0, 40), 12.0)]) == [[], []]
    # no 5-s bar for 14:00:45..14:00:55: the next minute's first bar closes 14:00
    out = agg.add(five(at(14, 1, 10), 11.0, v=7))
    assert out == [Bar("GOOG", at(14, 0), 60, 10.0, 12.0, 10.0, 12.0, 20.0)]
    done = agg.add(five(at(14, 1, 55), 13.0, v=1))
    assert done == [Bar("GOOG", at(14, 1), 60, 11.0, 13.0, 11.0, 13.0, 8.0)]


def test_gap_into_a_closing_bar_emits_two_bars_at_once() -> None:
    agg = BarAggregator("GOOG", 60)
    agg.add(five(at(14, 0, 0), 10.0))
    out = agg.add(five(at(14, 3, 55), 20.0, v=4))  # minutes 14:01 and 14:02 had no trades
    assert out == [
        Bar("GOOG", at(14, 0), 60, 10.0, 10.0, 10.0, 10.0, 10.0),
        Bar("GOOG", at(14, 3), 60, 20.0, 20.0, 20.0, 20.0, 4.0),
    ]


def test_flush_closes_the_bar_only_once_its_period_is_over() -> None:
    agg = BarAggregator("GOOG", 60)
    run(agg, [five(at(14, 0, 0), 10.0), five(at(14, 0, 30), 11.0)])
    assert agg.flush(at(14, 0, 59)) == []
    assert agg.flush(at(14, 1, 0)) == [Bar("GOOG", at(14, 0), 60, 10.0, 11.0, 10.0, 11.0, 20.0)]
    assert agg.flush(at(14, 5)) == []  # nothing left
    assert BarAggregator("GOOG", 60).flush(at(14, 1)) == []  # nothing ever started


def test_flushed_bar_is_not_emitted_again_by_the_next_period() -> None:
    agg = BarAggregator("GOOG", 60)
    agg.add(five(at(14, 0, 0), 10.0))
    assert len(agg.flush(at(14, 1))) == 1
    assert agg.add(five(at(14, 1, 5), 12.0)) == []
    assert agg.add(five(at(14, 1, 55), 12.5)) == [
        Bar("GOOG", at(14, 1), 60, 12.0, 12.5, 12.0, 12.5, 20.0)
    ]


def test_repeated_and_older_five_second_bars_are_ignored() -> None:
    agg = BarAggregator("GOOG", 60)
    agg.add(five(at(14, 0, 0), 10.0))
    agg.add(five(at(14, 0, 10), 11.0))
    assert agg.add(five(at(14, 0, 10), 500.0, v=1000)) == []  # a repeat (e.g. resubscribed)
    assert agg.add(five(at(14, 0, 5), 1.0, v=1000)) == []  # older than one taken already
    out = agg.add(five(at(14, 0, 55), 10.5))
    assert out == [Bar("GOOG", at(14, 0), 60, 10.0, 11.0, 10.0, 10.5, 30.0)]
    assert agg.add(five(at(14, 0, 55), 99.0)) == []  # the closing bar again: no second bar


def test_five_minute_bars_close_with_the_bar_starting_at_end_minus_five() -> None:
    agg = BarAggregator("GOOG", 300)
    assert agg.add(five(at(14, 2, 0), 10.0)) == []
    assert agg.add(five(at(14, 4, 50), 9.0)) == []
    assert agg.add(five(at(14, 4, 55), 11.0)) == [
        Bar("GOOG", at(14, 0), 300, 10.0, 11.0, 9.0, 11.0, 30.0)
    ]


# -- seeding from the last (incomplete) history bar -----------------------------------------------
def test_seed_continues_the_history_bar_and_skips_bars_it_already_holds() -> None:
    agg = BarAggregator("GOOG", 60)
    partial = Bar("GOOG", at(14, 0), 60, 100.0, 101.0, 99.0, 100.5, 1000.0)
    agg.seed(partial, covered_until=at(14, 0, 30))
    assert agg.add(five(at(14, 0, 20), 500.0, v=99)) == []  # inside the seed
    assert agg.add(five(at(14, 0, 25), 1.0, v=99)) == []  # the seed's last 5 s
    assert agg.add(five(at(14, 0, 30), 101.5, o=100.5, v=5)) == []  # first new one counts
    out = agg.add(five(at(14, 0, 55), 98.5, o=99.0, v=6))
    assert out == [Bar("GOOG", at(14, 0), 60, 100.0, 101.5, 98.5, 98.5, 1011.0)]


def test_seed_sets_the_aggregators_bar_length_and_flushes_at_its_end() -> None:
    agg = BarAggregator("GOOG", 60)
    partial = Bar("GOOG", at(14, 0), 5, 100.0, 101.0, 99.0, 100.5, 1000.0)
    agg.seed(partial, covered_until=at(14, 0, 40))
    assert agg.flush(at(14, 0, 59)) == []
    assert agg.flush(at(14, 1)) == [Bar("GOOG", at(14, 0), 60, 100.0, 101.0, 99.0, 100.5, 1000.0)]


def test_seed_then_next_period_bar_closes_the_seeded_bar() -> None:
    agg = BarAggregator("GOOG", 60)
    agg.seed(Bar("GOOG", at(14, 0), 60, 100.0, 101.0, 99.0, 100.5, 1000.0), at(14, 0, 45))
    out = agg.add(five(at(14, 1, 0), 102.0))
    assert out == [Bar("GOOG", at(14, 0), 60, 100.0, 101.0, 99.0, 100.5, 1000.0)]


# -- daily bars --------------------------------------------------------------------------------
# 2024-03-08 (Fri) is EST (UTC-5): the session closes 21:00 UTC. US clocks change on Sunday
# 2024-03-10; 2024-03-11 (Mon) is EDT (UTC-4): the session closes 20:00 UTC.
FRI, MON = (2024, 3, 8), (2024, 3, 11)


def test_daily_bar_closes_with_the_session_at_1600_eastern_in_winter() -> None:
    agg = BarAggregator("GOOG", DAY)
    assert agg.add(five(at(14, 30, 0, FRI), 50.0, v=100)) == []  # 09:30 EST
    assert agg.add(five(at(19, 59, 55, FRI), 55.0, v=1)) == []  # 14:59:55 EST: not the close
    out = agg.add(five(at(20, 59, 55, FRI), 52.0, v=2))  # 15:59:55 EST
    assert out == [Bar("GOOG", at(5, 0, 0, FRI), DAY, 50.0, 55.0, 50.0, 52.0, 103.0)]


def test_daily_bar_closes_with_the_session_at_1600_eastern_in_summer_time() -> None:
    agg = BarAggregator("GOOG", DAY)
    assert agg.add(five(at(13, 30, 0, MON), 60.0, v=10)) == []  # 09:30 EDT
    out = agg.add(five(at(19, 59, 55, MON), 61.0, v=5))  # 15:59:55 EDT
    assert out == [Bar("GOOG", at(4, 0, 0, MON), DAY, 60.0, 61.0, 60.0, 61.0, 15.0)]


def test_daily_gap_over_the_weekend_and_dst_change_closes_friday_on_mondays_first_bar() -> None:
    agg = BarAggregator("GOOG", DAY)
    agg.add(five(at(14, 30, 0, FRI), 50.0, v=100))
    agg.add(five(at(20, 59, 50, FRI), 51.0, v=1))  # no bar for the last 5 s of Friday
    out = agg.add(five(at(13, 30, 0, MON), 60.0, v=10))
    assert out == [Bar("GOOG", at(5, 0, 0, FRI), DAY, 50.0, 51.0, 50.0, 51.0, 101.0)]
    assert agg.flush(at(19, 59, 59, MON)) == []
    assert agg.flush(at(20, 0, 0, MON)) == [
        Bar("GOOG", at(4, 0, 0, MON), DAY, 60.0, 60.0, 60.0, 60.0, 10.0)
    ]


def test_daily_period_end_follows_the_exchange_session_across_dst() -> None:
    agg = BarAggregator("GOOG", DAY)
    assert agg.period_end(at(14, 30, 0, FRI)) == at(21, 0, 0, FRI)
    assert agg.period_end(at(20, 59, 59, FRI)) == at(21, 0, 0, FRI)
    assert agg.period_end(at(13, 30, 0, MON)) == at(20, 0, 0, MON)
    # at or after the close, a 5-s bar belongs to the next trading day's session
    assert agg.period_end(at(20, 0, 0, MON)) == at(20, 0, 0, (2024, 3, 12))
    assert agg.period_end(at(3, 0, 0, MON)) == at(20, 0, 0, MON)  # 23:00 EDT Sunday


def test_daily_bars_in_another_exchange_zone_and_close() -> None:
    from datetime import time

    agg = BarAggregator("BP", DAY, tz="Europe/London", session_close=time(16, 30))
    agg.add(five(at(8, 0, 0, FRI), 5.0))
    out = agg.add(five(at(16, 29, 55, FRI), 6.0))  # London is on GMT in early March
    assert [(b.start, b.close) for b in out] == [(at(0, 0, 0, FRI), 6.0)]


def test_minute_period_end_is_the_next_minute_boundary() -> None:
    agg = BarAggregator("GOOG", 60)
    assert agg.period_end(at(14, 0, 0)) == at(14, 1, 0)
    assert agg.period_end(at(14, 0, 55)) == at(14, 1, 0)


def test_bar_end_for_intraday_and_daily_bars() -> None:
    assert bar_end(Bar("GOOG", at(14, 0), 60, 1, 1, 1, 1, 1)) == at(14, 1)
    assert bar_end(Bar("GOOG", at(5, 0, 0, FRI), DAY, 1, 1, 1, 1, 1)) == at(21, 0, 0, FRI)
    assert bar_end(Bar("GOOG", at(4, 0, 0, MON), DAY, 1, 1, 1, 1, 1)) == at(20, 0, 0, MON)


def test_a_late_five_second_bar_of_a_flushed_period_is_not_a_second_bar() -> None:
    """At the simulator's speed the market clock can pass a minute's end before its last
    5-s bars were read: the flush emits the minute once, the late bars are dropped."""
    agg = BarAggregator("GOOG", 60)
    agg.add(five(at(14, 0, 0), 10.0))
    assert agg.flush(at(14, 1, 0)) == [Bar("GOOG", at(14, 0), 60, 10.0, 10.0, 10.0, 10.0, 10.0)]
    assert agg.add(five(at(14, 0, 50), 11.0)) == []
    assert agg.add(five(at(14, 0, 55), 12.0)) == []
    assert agg.add(five(at(14, 1, 55), 13.0, v=1)) == [
        Bar("GOOG", at(14, 1), 60, 13.0, 13.0, 13.0, 13.0, 1.0)]  # fmt: skip
