"""Routing and deduplication, on a fake clock."""

from __future__ import annotations

from datetime import UTC, datetime

from tradd.alerts.model import AlertEvent
from tradd.alerts.router import AlertRouter
from tradd.config.alerts import AlertSettings

AT = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def settings(**values: object) -> AlertSettings:
    base = {"email": {"enabled": True, "recipients": ["ops@example.com"]},
            "webhook": {"enabled": True, "url": "http://127.0.0.1:1/hook"}}  # fmt: skip
    return AlertSettings(**{**base, **values})  # type: ignore[arg-type]


def breach(rule: str = "MAX_POSITION_SIZE", strategy: str = "s1") -> AlertEvent:
    return AlertEvent("risk_breach", "warning", f"{rule} hit", AT, strategy=strategy,
                      data={"rule": rule}, key=rule)  # fmt: skip


def test_a_storm_of_identical_events_is_one_alert_then_one_count() -> None:
    clock = Clock()
    router = AlertRouter(settings(dedup_window=60), clock)
    sent = [a for a in (router.route(breach()) for _ in range(1000)) if a is not None]
    assert len(sent) == 1 and sent[0].suppressed == 0
    assert router.flush() == []  # the window is still open
    clock.now += 61
    [repeat] = router.flush()
    assert repeat.suppressed == 999 and "999 more" in repeat.subject
    assert router.flush() == []


def test_the_count_rides_on_the_next_alert_and_keys_are_separate() -> None:
    clock = Clock()
    router = AlertRouter(settings(dedup_window=60), clock)
    assert router.route(breach()) is not None
    assert router.route(breach()) is None
    assert router.route(breach("MAX_LEVERAGE")) is not None  # another rule: its own alert
    assert router.route(breach(strategy="s2")) is not None  # another strategy too
    clock.now += 61
    nxt = router.route(breach())
    assert nxt is not None and nxt.suppressed == 1
    assert router.flush() == []  # already carried


def test_every_flatten_is_alerted_even_within_the_window() -> None:
    router = AlertRouter(settings(dedup_window=300), Clock())  # the clock stands still

    def flatten(by: str) -> AlertEvent:  # the daemon's: no strategy, no rule (flatten|-|)
        return AlertEvent("flatten", "warning", f"flatten --all requested by {by}: confirmed "
                          "flat", AT, data={"requested_by": by})  # fmt: skip

    sent = [router.route(flatten("web:admin")), router.route(flatten("web:admin"))]
    assert [a.subject if a else None for a in sent] == [
        "flatten: flatten --all requested by web:admin: confirmed flat"] * 2  # fmt: skip
    assert all(a is not None and a.suppressed == 0 for a in sent)
    assert router.flush(force=True) == []  # nothing was counted instead of sent


def test_routes_by_severity_then_by_kind_and_only_to_enabled_channels() -> None:
    router = AlertRouter(settings(events={"daily_summary": ["email"], "reconnected": []}), Clock())
    assert router.channels("crash_loop", "critical") == ("email", "webhook")  # sms disabled
    assert router.channels("risk_breach", "warning") == ("email", "webhook")
    assert router.channels("data_resumed", "info") == ("email",)
    assert router.channels("daily_summary", "info") == ("email",)
    assert router.channels("reconnected", "info") == ()
    assert AlertRouter(settings(enabled=False), Clock()).channels("crash_loop", "critical") == ()
