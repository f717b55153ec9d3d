"""Reconnect pacing: `Backoff` and `CircuitBreaker`, exact on an injected clock and rng."""

from __future__ import annotations

import random

import pytest

from tradd.ib.circuit import Backoff, CircuitBreaker, CircuitState


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# -- Backoff ---------------------------------------------------------------------------------
def test_backoff_doubles_from_initial_and_stops_at_the_cap() -> None:
    backoff = Backoff(1.0, 30.0, 0.0)
    assert [backoff.next() for _ in range(8)] == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]


def test_backoff_cap_below_initial_caps_the_first_delay() -> None:
    backoff = Backoff(5.0, 3.0, 0.0)
    assert [backoff.next() for _ in range(3)] == [3.0, 3.0, 3.0]


def test_backoff_reset_starts_again_from_initial() -> None:
    backoff = Backoff(0.5, 60.0, 0.0)
    assert [backoff.next() for _ in range(4)] == [0.5, 1.0, 2.0, 4.0]
    backoff.reset()
    assert [backoff.next() for _ in range(2)] == [0.5, 1.0]


def test_backoff_jitter_is_the_seeded_uniform_spread_around_each_base() -> None:
    backoff = Backoff(10.0, 80.0, 0.2, random.Random(42))
    twin = random.Random(42)
    bases = [10.0, 20.0, 40.0, 80.0, 80.0, 80.0]
    got = [backoff.next() for _ in bases]
    assert got == [b + twin.uniform(-0.2 * b, 0.2 * b) for b in bases]
    for value, base in zip(got, bases, strict=True):
        assert 0.8 * base <= value <= 1.2 * base
    assert len(set(got[3:])) == 3  # capped delays are still randomised


def test_backoff_jitter_stays_within_bounds_over_many_draws() -> None:
    backoff = Backoff(1.0, 8.0, 0.5, random.Random(7))
    draws = [backoff.next() for _ in range(200)]
    assert all(4.0 <= d <= 12.0 for d in draws[3:])  # base 8 from the 4th attempt on
    assert min(draws[3:]) < 5.0 and max(draws[3:]) > 11.0  # the spread is really used


def test_backoff_never_returns_a_negative_delay() -> None:
    backoff = Backoff(1.0, 1.0, 3.0, random.Random(1))  # spread larger than the base
    draws = [backoff.next() for _ in range(200)]
    assert min(draws) == 0.0
    assert all(0.0 <= d <= 4.0 for d in draws)


def test_backoff_with_same_seed_is_reproducible() -> None:
    a = Backoff(1.0, 60.0, 0.1, random.Random(3))
    b = Backoff(1.0, 60.0, 0.1, random.Random(3))
    assert [a.next() for _ in range(10)] == [b.next() for _ in range(10)]


# -- CircuitBreaker ----------------------------------------------------------------------------
def test_breaker_opens_on_the_nth_consecutive_failure_only() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(3, 10.0, clock)
    assert breaker.state is CircuitState.CLOSED and breaker.allow()
    assert breaker.record_failure() is False
    assert breaker.record_failure() is False
    assert breaker.state is CircuitState.CLOSED and breaker.allow()
    assert breaker.record_failure() is True
    assert breaker.state is CircuitState.OPEN
    assert breaker.failures == 3
    assert not breaker.allow()


def test_breaker_success_resets_the_consecutive_count() -> None:
    breaker = CircuitBreaker(3, 10.0, FakeClock())
    breaker.record_failure()
    breaker.record_failure()
    breaker.record_success()
    assert breaker.failures == 0
    assert breaker.record_failure() is False
    assert breaker.record_failure() is False
    assert breaker.state is CircuitState.CLOSED
    assert breaker.record_failure() is True


def test_breaker_further_failure_while_open_does_not_report_opening_again() -> None:
    breaker = CircuitBreaker(2, 10.0, FakeClock())
    breaker.record_failure()
    assert breaker.record_failure() is True
    assert breaker.record_failure() is False
    assert breaker.state is CircuitState.OPEN


def test_breaker_goes_half_open_exactly_after_open_seconds() -> None:
    clock = FakeClock(1000.0)
    breaker = CircuitBreaker(1, 10.0, clock)
    assert breaker.seconds_until_probe() == 0.0  # closed: nothing to wait for
    assert breaker.record_failure() is True
    assert breaker.seconds_until_probe() == 10.0
    clock.now = 1004.0
    assert breaker.seconds_until_probe() == 6.0
    clock.now = 1009.75
    assert breaker.seconds_until_probe() == 0.25
    assert not breaker.allow()
    assert breaker.state is CircuitState.OPEN
    clock.now = 1010.0
    assert breaker.seconds_until_probe() == 0.0
    assert breaker.allow()
    assert breaker.state is CircuitState.HALF_OPEN
    assert breaker.seconds_until_probe() == 0.0
    assert breaker.allow()  # the probe may go on trying while half-open


def test_breaker_seconds_until_probe_never_negative() -> None:
    clock = FakeClock(0.0)
    breaker = CircuitBreaker(1, 5.0, clock)
    breaker.record_failure()
    clock.now = 100.0
    assert breaker.seconds_until_probe() == 0.0
    assert breaker.state is CircuitState.OPEN  # only allow() moves it on


def test_breaker_half_open_success_closes() -> None:
    clock = FakeClock(0.0)
    breaker = CircuitBreaker(2, 5.0, clock)
    breaker.record_failure()
    breaker.record_failure()
    clock.now = 5.0
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state is CircuitState.CLOSED
    assert breaker.failures == 0
    assert breaker.record_failure() is False  # the full threshold again before it opens


def test_breaker_half_open_failure_reopens_for_another_full_period() -> None:
    clock = FakeClock(0.0)
    breaker = CircuitBreaker(3, 5.0, clock)
    for _ in range(3):
        breaker.record_failure()
    clock.now = 7.0
    assert breaker.allow()
    assert breaker.state is CircuitState.HALF_OPEN
    assert breaker.record_failure() is True  # a single probe failure opens it again
    assert breaker.state is CircuitState.OPEN
    assert breaker.seconds_until_probe() == 5.0  # counted from the probe, not the first open
    clock.now = 11.9
    assert not breaker.allow()
    clock.now = 12.0
    assert breaker.allow()
    assert breaker.state is CircuitState.HALF_OPEN


@pytest.mark.parametrize("threshold", [1, 4])
def test_breaker_threshold_is_respected(threshold: int) -> None:
    breaker = CircuitBreaker(threshold, 1.0, FakeClock())
    opened = [breaker.record_failure() for _ in range(threshold)]
    assert opened == [False] * (threshold - 1) + [True]
