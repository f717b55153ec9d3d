"""The historical-data pacer against a fake clock: each of IB's three rules, the safety
margin, and the backoff after a 162 that comes anyway (every sleep is asserted)."""

from __future__ import annotations

import pytest

from tradd.errors import TemporaryError
from tradd.ib.pacing import HistoryPacer, PacingRules, RetryPolicy

NO_MARGIN = PacingRules(margin=0.0)


class FakeTime:
    """A clock that only moves when slept on; remembers every sleep."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def pacer(
    fake: FakeTime, rules: PacingRules = NO_MARGIN, retry: RetryPolicy | None = None
) -> HistoryPacer:
    return HistoryPacer(rules, retry, clock=fake.clock, sleep=fake.sleep)


def test_an_identical_request_waits_until_15_seconds_have_passed() -> None:
    fake = FakeTime()
    p = pacer(fake)
    assert p.acquire("req-a", "GOOG") == 0
    fake.now += 4.0
    assert p.acquire("req-b", "GOOG") == 0  # a different request goes at once
    assert p.acquire("req-a", "GOOG") == pytest.approx(11.0)
    assert fake.sleeps == [pytest.approx(11.0)]
    assert fake.now == pytest.approx(1015.0)


def test_six_requests_for_one_contract_within_two_seconds_are_spread_out() -> None:
    fake = FakeTime()
    p = pacer(fake)
    for i in range(5):
        assert p.acquire(f"page-{i}", "GOOG") == 0
        fake.now += 0.1
    assert p.acquire("page-other", "ORCL") == 0  # another contract is not counted
    assert p.acquire("page-5", "GOOG") == pytest.approx(1.5)  # the first ages out at +2.0
    assert fake.now == pytest.approx(1002.0)
    assert p.wait_needed("page-6", "GOOG").rule == "burst"


def test_the_61st_request_in_ten_minutes_waits_for_the_oldest_to_age_out() -> None:
    fake = FakeTime()
    p = pacer(fake)
    for i in range(60):
        assert p.acquire(f"req-{i}", f"contract-{i % 20}") == 0
        fake.now += 3.0  # slow enough for the burst rule, 60 requests in 180 s
    wait = p.wait_needed("req-60", "contract-x")
    assert wait.rule == "window"
    assert wait.seconds == pytest.approx(600.0 - 180.0)
    assert p.acquire("req-60", "contract-x") == pytest.approx(420.0)
    assert p.acquire("req-61", "contract-y") == pytest.approx(3.0)  # the next oldest ages out


def test_waits_include_the_safety_margin_and_none_is_added_when_free() -> None:
    fake = FakeTime()
    p = pacer(fake, PacingRules(margin=0.5))
    assert p.wait_needed("a", "GOOG").seconds == 0
    p.acquire("a", "GOOG")
    assert p.wait_needed("a", "GOOG").seconds == pytest.approx(15.5)


def test_a_pacing_violation_is_retried_with_exponential_backoff() -> None:
    fake = FakeTime()
    p = pacer(fake, retry=RetryPolicy(first_delay=10.0, factor=2.0, max_delay=120.0))
    answers = iter(["162", "162", "162", "bars"])
    sent: list[float] = []

    def attempt() -> str:
        sent.append(fake.now)
        return next(answers)

    assert p.send("req", "GOOG", attempt, lambda r: r == "162", "GOOG request") == "bars"
    # backoff 10, then the identical-request rule adds 5 (15 s since the first), then 20, 40
    assert fake.sleeps == [10.0, pytest.approx(5.0), 20.0, 40.0]
    assert [t - sent[0] for t in sent] == [0.0, pytest.approx(15.0), 35.0, 75.0]


def test_after_the_last_retry_a_temporary_error_names_the_request() -> None:
    fake = FakeTime()
    p = pacer(fake, retry=RetryPolicy(first_delay=10.0, max_delay=30.0, max_retries=3))
    calls: list[int] = []

    def attempt() -> str:
        calls.append(1)
        return "162"

    with pytest.raises(TemporaryError, match="GOOG 1d: 1 Y ending now: IB answered 162") as info:
        p.send("req", "GOOG", attempt, lambda r: r == "162", "GOOG 1d: 1 Y ending now")
    assert info.value.exit_code == 1
    assert len(calls) == 4
    assert fake.sleeps == [10.0, pytest.approx(5.0), 20.0, 30.0]  # capped at max_delay


def test_bad_settings_are_refused_naming_the_field() -> None:
    with pytest.raises(ValueError, match="burst_limit: must be >= 1, got 0"):
        PacingRules(burst_limit=0)
    with pytest.raises(ValueError, match="factor: must be >= 1, got 0.5"):
        RetryPolicy(factor=0.5)
    with pytest.raises(ValueError, match="max_retries: must be >= 0, got -1"):
        RetryPolicy(max_retries=-1)
