"""`StalenessWatchdog`: OK -> RESUBSCRIBED -> STALE (with retries) -> OK, in market time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tradd.worker.watchdog import FeedHealth, HealthChange, StalenessWatchdog

T0 = datetime(2024, 3, 11, 15, 0, tzinfo=UTC)
OK, RESUB, STALE = FeedHealth.OK, FeedHealth.RESUBSCRIBED, FeedHealth.STALE


def t(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


SINCE_EVER = datetime.min.replace(tzinfo=UTC)


def always_open(_symbol: str, _now: datetime) -> datetime | None:
    return SINCE_EVER


def always_closed(_symbol: str, _now: datetime) -> datetime | None:
    return None


class Watch:
    """One symbol (GOOG) watched with stale_after = 15 s."""

    def __init__(self, symbols: tuple[str, ...] = ("GOOG",), stale_after: float = 15.0) -> None:
        self.dog = StalenessWatchdog(symbols, stale_after)
        self.last: dict[str, datetime] = {}
        self.open = always_open

    def at(self, seconds: float) -> list[HealthChange]:
        return self.dog.check(t(seconds), self.last, self.open)

    def bar(self, seconds: float, symbol: str = "GOOG") -> None:
        """A 5-s bar ending at T0 + seconds."""
        self.last[symbol] = t(seconds)


def test_bars_flowing_keep_a_feed_ok() -> None:
    w = Watch()
    for s in range(0, 120, 5):
        w.bar(s)
        assert w.at(s + 1) == []
    assert w.dog.health == {"GOOG": OK}
    assert w.dog.stale == []


def test_silence_resubscribes_then_goes_stale_then_retries_each_period() -> None:
    w = Watch()
    w.bar(5)
    assert w.at(5) == []
    assert w.at(19.9) == []
    assert w.at(20) == [HealthChange("GOOG", RESUB, 15.0)]  # 15 s after the last bar
    assert w.dog.health["GOOG"] is RESUB and w.dog.stale == []
    assert w.at(34.9) == []  # the next period counts from the resubscription
    assert w.at(35) == [HealthChange("GOOG", STALE, 15.0)]
    assert w.dog.stale == ["GOOG"]
    assert w.at(49) == []
    assert w.at(50) == [HealthChange("GOOG", RESUB, 15.0)]  # a retry: resubscribe again
    assert w.dog.health["GOOG"] is STALE  # ... but the feed stays stale
    assert w.at(64) == []
    assert w.at(65) == [HealthChange("GOOG", RESUB, 15.0)]
    assert w.dog.stale == ["GOOG"]


def test_silence_with_no_bar_at_all_counts_from_the_first_check() -> None:
    w = Watch()
    assert w.at(0) == []
    assert w.at(14.9) == []
    assert w.at(15) == [HealthChange("GOOG", RESUB, 15.0)]


def test_a_late_check_reports_the_whole_silence() -> None:
    w = Watch()
    w.bar(0)
    w.at(0)
    assert w.at(42) == [HealthChange("GOOG", RESUB, 42.0)]


def test_bar_after_the_resubscription_recovers_to_ok() -> None:
    w = Watch()
    w.bar(0)
    w.at(0)
    assert w.at(15) == [HealthChange("GOOG", RESUB, 15.0)]
    w.bar(20)
    assert w.at(21) == [HealthChange("GOOG", OK, 1.0)]
    assert w.dog.health["GOOG"] is OK
    assert w.at(34.9) == []
    assert w.at(35) == [HealthChange("GOOG", RESUB, 15.0)]  # silence counted from the bar


def test_stale_feed_recovers_when_bars_come_back() -> None:
    w = Watch()
    w.at(0)
    w.at(15)
    assert w.at(30) == [HealthChange("GOOG", STALE, 15.0)]
    w.bar(33)
    assert w.at(34) == [HealthChange("GOOG", OK, 1.0)]
    assert w.dog.stale == []


def test_bar_no_newer_than_the_resubscription_does_not_recover() -> None:
    w = Watch()
    w.bar(0)
    w.at(0)
    w.at(15)  # resubscribed at 15
    w.bar(15)  # a bar ending exactly then was from the old subscription
    assert w.at(16) == []
    assert w.dog.health["GOOG"] is RESUB


def test_closed_market_is_never_stale() -> None:
    w = Watch()
    w.open = always_closed
    w.bar(0)
    for s in (0, 15, 30, 600, 3600 * 10):
        assert w.at(s) == []
    assert w.dog.health == {"GOOG": OK}


def test_market_closing_clears_a_stale_feed() -> None:
    w = Watch()
    w.at(0)
    w.at(15)
    w.at(30)
    assert w.dog.stale == ["GOOG"]
    w.open = always_closed
    assert w.at(31) == [HealthChange("GOOG", OK, 1.0)]
    assert w.dog.stale == []


def test_silence_counting_restarts_at_the_open() -> None:
    """Yesterday's last bar is hours old at the open: the count starts with the session."""
    w = Watch()
    w.bar(-17 * 3600)  # yesterday's close
    w.open = always_closed
    assert w.at(-1) == []  # the last check before the open
    w.open = always_open
    assert w.at(0) == []
    assert w.at(13.9) == []
    assert w.at(14) == [HealthChange("GOOG", RESUB, 15.0)]  # counted from the check at -1


def test_each_symbol_is_watched_on_its_own_and_with_its_own_hours() -> None:
    w = Watch(("GOOG", "SAP"))
    w.open = lambda symbol, _now: SINCE_EVER if symbol == "GOOG" else None  # SAP: closed
    w.at(0)
    w.bar(10, "GOOG")
    assert w.at(15) == []
    assert w.at(25) == [HealthChange("GOOG", RESUB, 15.0)]
    w.open = always_open
    assert w.at(26) == []  # SAP's silence counts from its last check while closed (25)
    assert w.at(39.9) == []
    assert w.at(40) == [HealthChange("GOOG", STALE, 15.0), HealthChange("SAP", RESUB, 15.0)]
    assert w.dog.stale == ["GOOG"]


def test_reset_counts_every_symbols_silence_from_now() -> None:
    w = Watch(("GOOG", "AAPL"))
    w.bar(0, "GOOG")
    w.bar(0, "AAPL")
    w.at(0)
    w.dog.reset(t(14))  # e.g. a reconnect resubscribed everything
    assert w.at(15) == []
    assert w.at(28.9) == []
    assert w.at(29) == [HealthChange("GOOG", RESUB, 15.0), HealthChange("AAPL", RESUB, 15.0)]


def test_reset_keeps_health_but_a_bar_after_it_recovers() -> None:
    w = Watch()
    w.at(0)
    w.at(15)
    w.at(30)
    w.dog.reset(t(31))
    assert w.dog.stale == ["GOOG"]
    w.bar(35)
    assert w.at(36) == [HealthChange("GOOG", OK, 1.0)]


def test_a_night_skipped_in_one_jump_counts_silence_from_the_open() -> None:
    """The simulator jumps from yesterday's close to today's open between two checks:
    the first check of the session must not count the night as silence."""
    w = Watch()
    w.bar(-17.5 * 3600)  # yesterday's last bar
    w.open = always_closed
    assert w.at(-17.5 * 3600) == []  # the last check before the jump
    opened = t(0)
    w.open = lambda _symbol, _now: opened
    assert w.at(10) == []  # 10 s into the session, the first bar not here yet
    w.bar(10)
    assert w.at(14.9) == []
    assert w.dog.health == {"GOOG": OK}
    assert w.at(25) == [HealthChange("GOOG", RESUB, 15.0)]  # a real silence still counts


class Wall:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_at_speed_a_busy_moment_is_not_silence() -> None:
    """At 600x a 60 ms pause of the worker is 36 market seconds: a feed is silent only
    once it was also quiet for `min_wall` seconds of wall time."""
    wall = Wall()
    w = Watch()
    w.dog = StalenessWatchdog(("GOOG",), 15.0, min_wall=2.0, wall=wall)
    w.bar(0)
    assert w.at(0) == []
    wall.now = 0.06
    assert w.at(36) == []  # 36 market seconds late, but only 60 ms of wall time
    w.bar(40)
    wall.now = 0.12
    assert w.at(72) == []  # the bar ending at 40 was heard now
    wall.now = 2.0
    assert w.at(1200) == []  # quiet for 1.88 s of wall time
    wall.now = 2.25
    assert w.at(1224) == [HealthChange("GOOG", RESUB, 1184.0)]  # now it is silence
    wall.now = 3.0
    assert w.at(1524) == []  # the next period needs its own wall time as well
    wall.now = 4.25
    assert w.at(1800) == [HealthChange("GOOG", STALE, 576.0)]
