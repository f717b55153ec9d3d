"""`MarketHours` (IB's hours strings, the simulator sends the same) and `GatewayClock` (market time
followed from the gateway), on fake samples and a fake wall clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tradd.errors import DataError
from tradd.ib.clock import MIN_RATE_WINDOW, RATE_WINDOW, UNKNOWN, GatewayClock
from tradd.ib.hours import MarketHours


def utc(y: int, mo: int, d: int, h: int, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=UTC)


# -- MarketHours: IB's format ------------------------------------------------------------------
# 2024-03-08 (Fri) is EST (UTC-5); 2024-03-11 (Mon) and later are EDT (UTC-4).
IB_SPEC = (
    "20240308:0930-20240308:1600;20240309:CLOSED;20240310:CLOSED;"
    "20240311:0930-20240311:1600;20240312:CLOSED;20240313:0930-20240313:1300"
)


@pytest.mark.parametrize(
    ("now", "open_"),
    [
        (utc(2024, 3, 8, 14, 29, 59), False),  # 09:29:59 EST
        (utc(2024, 3, 8, 14, 30), True),  # 09:30 EST: open
        (utc(2024, 3, 8, 20, 59, 59), True),
        (utc(2024, 3, 8, 21, 0), False),  # 16:00 EST: closed
        (utc(2024, 3, 9, 15, 0), False),  # CLOSED day
        (utc(2024, 3, 11, 13, 29, 59), False),
        (utc(2024, 3, 11, 13, 30), True),  # 09:30 EDT after the DST change
        (utc(2024, 3, 11, 14, 29), True),  # would be before the open in EST
        (utc(2024, 3, 11, 19, 59, 59), True),
        (utc(2024, 3, 11, 20, 0), False),  # 16:00 EDT
        (utc(2024, 3, 12, 15, 0), False),  # a holiday marked CLOSED
        (utc(2024, 3, 13, 16, 59), True),  # early close at 13:00 EDT
        (utc(2024, 3, 13, 17, 0), False),
        (utc(2024, 3, 14, 15, 0), False),  # a day the string does not list
    ],
)
def test_ib_hours_string_in_the_contracts_zone(now: datetime, open_: bool) -> None:
    assert MarketHours(IB_SPEC, "US/Eastern").is_open(now) is open_


def test_ib_hours_string_is_read_in_the_given_zone() -> None:
    hours = MarketHours("20240311:0800-20240311:1630", "Europe/London")  # GMT in March
    assert not hours.is_open(utc(2024, 3, 11, 7, 59, 59))
    assert hours.is_open(utc(2024, 3, 11, 8, 0))
    assert hours.is_open(utc(2024, 3, 11, 16, 29, 59))
    assert not hours.is_open(utc(2024, 3, 11, 16, 30))


def test_ib_session_across_midnight() -> None:
    hours = MarketHours("20240310:1800-20240311:1700;20240311:1800-20240312:1700", "US/Eastern")
    assert hours.is_open(utc(2024, 3, 11, 3, 0))  # 23:00 EDT Sunday
    assert hours.is_open(utc(2024, 3, 11, 20, 59))  # 16:59 EDT Monday
    assert not hours.is_open(utc(2024, 3, 11, 21, 30))  # the daily break
    assert hours.is_open(utc(2024, 3, 11, 22, 0))


def test_ib_all_closed_string_is_never_open() -> None:
    hours = MarketHours("20240309:CLOSED;20240310:CLOSED", "US/Eastern")
    assert not hours.is_open(utc(2024, 3, 9, 15, 0))
    assert not hours.is_open(utc(2024, 3, 11, 15, 0))


# -- MarketHours: only IB's format --------------------------------------------------------------
@pytest.mark.parametrize("spec", ["09:30-16:00", "0930-1600", "20240311:0930-2024031:1600"])
def test_anything_but_ib_format_is_refused(spec: str) -> None:
    """The simulator's old plain daily hours are gone: rehearsals parse what IB sends."""
    with pytest.raises(DataError, match="trading hours entry"):
        MarketHours(spec, "US/Eastern")


def test_ib_list_with_empty_entry_and_its_last_day() -> None:
    """IB's futures lists may start with ';'; the list ends a few days out."""
    hours = MarketHours(";20240728:1900-20240729:0745;20240729:0830-20240729:1320", "US/Central")
    assert hours.is_open(utc(2024, 7, 29, 0, 0)) and not hours.is_open(utc(2024, 7, 29, 13, 0))
    assert hours.last_day is not None and hours.last_day.isoformat() == "2024-07-29"


def test_blank_hours_are_unknown_and_read_as_open() -> None:
    blank = MarketHours("  ", "US/Eastern")
    assert not blank.known and blank.last_day is None
    assert blank.is_open(utc(2024, 3, 9, 15, 0))


# -- GatewayClock ------------------------------------------------------------------------------
T0 = utc(2024, 3, 11, 13, 30)


class FakeWall:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class FakeGateway:
    """The gateway's clock as a function of wall time; counts reqCurrentTime samples."""

    def __init__(self, wall: FakeWall, rate: float = 1.0, start: datetime = T0) -> None:
        self.wall, self.rate, self.start, self.origin = wall, rate, start, wall.now
        self.samples = 0
        self.fail = False

    def __call__(self) -> datetime:
        self.samples += 1
        if self.fail:
            raise ConnectionError("not connected")
        return self.start + timedelta(seconds=(self.wall.now - self.origin) * self.rate)


def test_follows_the_sampled_server_time() -> None:
    wall = FakeWall()
    gateway = FakeGateway(wall, start=utc(2020, 1, 2, 15, 0))  # not this machine's time
    clock = GatewayClock(gateway, every=2.0, wall=wall)
    assert clock() == utc(2020, 1, 2, 15, 0)
    assert gateway.samples == 1


def test_samples_at_most_every_interval_and_extrapolates_in_between() -> None:
    wall = FakeWall()
    gateway = FakeGateway(wall)
    clock = GatewayClock(gateway, every=2.0, wall=wall)
    clock()
    wall.now += 1.5
    assert clock() == T0  # the rate is not known yet: standing still is the safe guess
    wall.now += 0.25
    assert clock() == T0
    assert gateway.samples == 1
    wall.now = 102.0
    clock()
    assert gateway.samples == 2
    clock()
    clock()
    assert gateway.samples == 2


def test_estimates_a_fast_gateways_rate_after_the_minimum_window() -> None:
    wall = FakeWall()
    gateway = FakeGateway(wall, rate=60.0)
    clock = GatewayClock(gateway, every=1.0, wall=wall)
    assert clock() == T0
    wall.now = 100.5  # no sample yet, and no rate either: it stands still
    assert clock() == T0
    wall.now = 104.0  # a sample, still inside MIN_RATE_WINDOW: exact, but rate unknown
    assert clock() == T0 + timedelta(seconds=240)
    wall.now = 104.5
    assert clock() == T0 + timedelta(seconds=240)
    wall.now = 100.0 + MIN_RATE_WINDOW  # now trusted: 60x
    assert clock() == T0 + timedelta(seconds=300)
    wall.now = 105.5
    assert clock() == T0 + timedelta(seconds=330)  # extrapolated at 60x between samples
    assert gateway.samples == 3


def test_rate_window_follows_a_gateway_that_changes_speed() -> None:
    wall = FakeWall()
    gateway = FakeGateway(wall, rate=60.0)
    clock = GatewayClock(gateway, every=1.0, wall=wall)
    clock()
    wall.now = 100.0 + RATE_WINDOW
    assert clock() == T0 + timedelta(seconds=60 * RATE_WINDOW)
    # from here the gateway runs at 120x
    base = T0 + timedelta(seconds=60 * RATE_WINDOW)
    gateway.start, gateway.origin, gateway.rate = base, wall.now, 120.0
    wall.now += MIN_RATE_WINDOW
    assert clock() == base + timedelta(seconds=120 * MIN_RATE_WINDOW)
    wall.now += 0.5
    assert clock() == base + timedelta(seconds=120 * (MIN_RATE_WINDOW + 0.5))


def test_keeps_extrapolating_when_sampling_fails() -> None:
    wall = FakeWall()
    gateway = FakeGateway(wall, rate=60.0)
    clock = GatewayClock(gateway, every=1.0, wall=wall)
    clock()
    wall.now = 106.0
    assert clock() == T0 + timedelta(seconds=360)  # rate 60 now known
    gateway.fail = True
    wall.now = 107.0
    assert clock() == T0 + timedelta(seconds=420)
    wall.now = 107.5  # not sampled again within `every`
    assert clock() == T0 + timedelta(seconds=450)
    wall.now = 110.0
    assert clock() == T0 + timedelta(seconds=600)
    assert gateway.samples == 4
    gateway.fail = False
    wall.now = 111.0
    assert clock() == T0 + timedelta(seconds=660)  # back on the real samples


def test_before_its_first_sample_the_clock_stands_still_never_on_this_machines_time() -> None:
    """A worker started while the simulator (replaying 2006) was away read 2026 here: its
    bars looked 20 years old and its gap fill asked for 20 years of history."""
    wall = FakeWall()
    gateway = FakeGateway(wall, start=utc(2006, 2, 16, 15, 0))
    gateway.fail = True
    clock = GatewayClock(gateway, every=2.0, wall=wall)
    assert clock() == UNKNOWN
    assert not clock.known
    wall.now += 0.1
    assert clock() == UNKNOWN  # stands still
    assert gateway.samples == 2  # unknown: every call tries again, `every` or not
    gateway.fail = False
    wall.now += 0.1
    assert clock() == utc(2006, 2, 16, 15, 0, 0) + timedelta(seconds=0.2)
    assert clock.known


def test_data_seen_before_the_first_sample_sets_the_clock() -> None:
    wall = FakeWall()
    gateway = FakeGateway(wall)
    gateway.fail = True
    clock = GatewayClock(gateway, every=2.0, wall=wall)
    clock.seen(utc(2006, 2, 16, 15, 5))
    assert clock() == utc(2006, 2, 16, 15, 5)


def test_a_paused_gateway_stands_still() -> None:
    wall = FakeWall()
    gateway = FakeGateway(wall, rate=0.0)
    clock = GatewayClock(gateway, every=1.0, wall=wall)
    clock()
    wall.now = 100.0 + MIN_RATE_WINDOW
    assert clock() == T0
    for step in (0.5, 0.9, 3.0, 60.0):
        wall.now += step
        assert clock() == T0


def test_never_runs_backwards_when_a_sample_is_behind_the_estimate() -> None:
    wall = FakeWall()
    gateway = FakeGateway(wall, rate=60.0)
    clock = GatewayClock(gateway, every=1.0, wall=wall)
    clock()
    wall.now = 100.0 + MIN_RATE_WINDOW
    ahead = clock()  # 60x now known
    wall.now += 0.9
    extrapolated = clock()
    gateway.rate = 0.0  # the gateway paused: its next sample is behind the extrapolation
    gateway.start, gateway.origin = extrapolated - timedelta(seconds=30), wall.now
    wall.now += 1.0
    assert clock() == extrapolated >= ahead


def run_for(clock: GatewayClock, wall: FakeWall, gateway: FakeGateway, seconds: float) -> float:
    """Call the clock every 0.1 wall seconds for `seconds`; the largest error seen."""
    worst = 0.0
    for _ in range(round(seconds * 10)):
        wall.now += 0.1
        truth = gateway.start + timedelta(seconds=(wall.now - gateway.origin) * gateway.rate)
        worst = max(worst, abs((clock() - truth).total_seconds()))
    return worst


def jump(gateway: FakeGateway, seconds: float) -> None:
    """The simulator skips closed time: its clock jumps forward at once."""
    gateway.start += timedelta(seconds=seconds)


def test_a_jump_over_the_night_is_not_taken_for_speed() -> None:
    """At 600x the simulator skips 17.5 closed hours in one go: the clock steps over the
    jump and goes on at 600x, instead of racing hours ahead of the data."""
    wall = FakeWall()
    gateway = FakeGateway(wall, rate=600.0)
    clock = GatewayClock(gateway, every=2.0, wall=wall)
    run_for(clock, wall, gateway, MIN_RATE_WINDOW + 2)  # the rate is measured
    assert run_for(clock, wall, gateway, 30) <= 1.0
    assert clock.rate == pytest.approx(600.0)
    jump(gateway, 17.5 * 3600)
    run_for(clock, wall, gateway, 2.1)  # lags until the next sample: that is safe
    assert run_for(clock, wall, gateway, 60) <= 1.0
    assert clock.rate == pytest.approx(600.0)
    for closed in (17.5 * 3600, 65.5 * 3600, 89.5 * 3600):  # a night, a weekend, a holiday
        run_for(clock, wall, gateway, 39)  # a session at 600x
        jump(gateway, closed)
        run_for(clock, wall, gateway, 2.1)
        assert run_for(clock, wall, gateway, 30) <= 1.0


def test_a_jump_in_the_first_window_is_not_taken_for_speed() -> None:
    wall = FakeWall()
    gateway = FakeGateway(wall, rate=60.0)
    clock = GatewayClock(gateway, every=1.0, wall=wall)
    run_for(clock, wall, gateway, 1.5)
    jump(gateway, 65 * 3600)
    run_for(clock, wall, gateway, MIN_RATE_WINDOW + 1.5)
    assert run_for(clock, wall, gateway, 10) <= 1.0
    assert clock.rate == pytest.approx(60.0)


def test_data_after_a_jump_moves_the_clock_at_once() -> None:
    """The first bar of the session proves the gateway's clock is past the jump."""
    wall = FakeWall()
    gateway = FakeGateway(wall, rate=600.0)
    clock = GatewayClock(gateway, every=2.0, wall=wall)
    run_for(clock, wall, gateway, 10)
    before = clock()
    jump(gateway, 17.5 * 3600)
    wall.now += 0.01
    bar_end = gateway.start + timedelta(seconds=(wall.now - gateway.origin) * 600.0)
    clock.seen(bar_end)
    assert clock() == bar_end > before + timedelta(hours=17)
    clock.seen(bar_end - timedelta(hours=1))  # older data never moves it back
    assert clock() == bar_end
