"""`RefusalLog`: a refusal reason is logged once, then at most once a minute with a count."""

from __future__ import annotations

from structlog.testing import capture_logs

from tradd.worker.refusals import EVERY, MAX_REASONS, RefusalLog


class Wall:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_repeated_reason_is_logged_once_a_minute_with_the_count() -> None:
    wall = Wall()
    refusals = RefusalLog(monotonic=wall)
    with capture_logs() as logs:
        for _bar in range(300):  # a stale feed: the strategy asks again on every 1-s bar
            refusals.refused("GOOG", "market data stale for GOOG")
            wall.now += 1.0
    assert len(logs) == 5
    assert logs[0] == {"event": "order refused", "symbol": "GOOG", "log_level": "warning",
                       "reason": "market data stale for GOOG"}  # fmt: skip
    assert [e.get("repeated") for e in logs[1:]] == [EVERY - 1] * 4


def test_a_new_reason_is_logged_at_once() -> None:
    wall = Wall()
    refusals = RefusalLog(monotonic=wall)
    with capture_logs() as logs:
        assert refusals.refused("GOOG", "market data stale for GOOG")
        assert not refusals.refused("GOOG", "market data stale for GOOG")
        assert refusals.refused("GOOG", "not connected to IB (disconnected: reset)")
        assert refusals.refused("ORCL", "market data stale for ORCL")
    assert [e["reason"] for e in logs] == [
        "market data stale for GOOG", "not connected to IB (disconnected: reset)",
        "market data stale for ORCL"]  # fmt: skip


def test_reasons_remembered_are_bounded() -> None:
    refusals = RefusalLog(monotonic=Wall())
    with capture_logs():
        for n in range(MAX_REASONS * 3):
            refusals.refused("GOOG", f"reason {n}")
    assert len(refusals._seen) == MAX_REASONS
