"""`IBStore`'s event pump and per-period barrier with fake inbox, handler and clocks, plus
`history_request`. Feeds are real `LiveFeed`s outside Cerebro (only their queues are used)."""

from __future__ import annotations

import queue
from collections import deque
from datetime import UTC, datetime, timedelta

import pytest
import structlog.testing

from tradd.ib.events import BarReceived, QuoteReceived
from tradd.ib.feed import LiveFeed, TickFeed
from tradd.ib.store import IBStore, history_request
from tradd.ib.types import Bar, ContractInfo, Quote


def at(hh: int, mm: int, ss: int = 0) -> datetime:
    return datetime(2024, 3, 11, hh, mm, ss, tzinfo=UTC)  # Monday; 09:30 EDT is 13:30 UTC


def five(symbol: str, start: datetime, close: float = 100.0, volume: float = 10.0) -> Bar:
    return Bar(symbol, start, 5, close, close, close, close, volume)


def minute(symbol: str, start: datetime, close: float = 100.0) -> list[BarReceived]:
    """The first and the closing 5-s bar of the minute starting at `start`."""
    return [BarReceived(five(symbol, start, close)),
            BarReceived(five(symbol, start + timedelta(seconds=55), close))]  # fmt: skip


class Inbox:
    """A SimpleQueue stand-in that never blocks and records the timeouts it was given."""

    def __init__(self) -> None:
        self.items: deque[object] = deque()
        self.timeouts: list[float] = []

    def put(self, item: object) -> None:
        self.items.append(item)

    def get(self, timeout: float | None = None) -> object:
        assert timeout is not None
        self.timeouts.append(timeout)
        return self.get_nowait()

    def get_nowait(self) -> object:
        if not self.items:
            raise queue.Empty
        return self.items.popleft()


class Handler:
    def __init__(self, wait: float = 0.0) -> None:
        self.events: list[object] = []
        self.ticks = 0
        self.wait = wait
        self.seen_at_tick: list[int] = []
        """How many events had been handled at each periodic check."""

    def handle(self, event: object) -> None:
        self.events.append(event)

    def tick(self) -> float:
        self.ticks += 1
        self.seen_at_tick.append(len(self.events))
        return self.wait


class Rig:
    def __init__(self, symbols=("GOOG", "AAPL"), grace: float = 2.0, wait: float = 0.0,
                 ticks: bool = False) -> None:  # fmt: skip
        self.market = at(14, 1)
        self.mono = 0.0
        self.inbox = Inbox()
        self.handler = Handler(wait)
        self.pumps = 0
        self.feeds = {s: LiveFeed(symbol=s, bar_seconds=60, name=s) for s in symbols}
        self.ticks = [TickFeed(symbol=s, name=f"{s}:ticks") for s in symbols] if ticks else []
        self.store = IBStore(
            self.inbox,  # type: ignore[arg-type]
            list(self.feeds.values()),
            self.handler,
            self.ticks,
            market_now=lambda: self.market,
            grace=grace,
            monotonic=lambda: self.mono,
            on_pump=self._pumped,
        )

    def _pumped(self) -> None:
        self.pumps += 1

    def send(self, *events: object) -> None:
        for event in events:
            self.inbox.put(event)

    def pump(self, *events: object) -> list:
        self.send(*events)
        return self.store.get_notifications()

    def released(self, symbol: str) -> list[tuple[datetime, bool]]:
        return [(bar.start, historical) for bar, historical in self.feeds[symbol]._ready]

    def take(self, symbol: str) -> None:
        """What Backtrader does when it reads a bar from the feed."""
        self.feeds[symbol]._ready.popleft()


# -- the per-period barrier ----------------------------------------------------------------------
def test_bars_of_one_period_are_released_together() -> None:
    rig = Rig()
    assert rig.pump(*minute("GOOG", at(14, 0)), *minute("AAPL", at(14, 0), 50.0)) == []
    assert rig.released("GOOG") == [(at(14, 0), False)]
    assert rig.released("AAPL") == [(at(14, 0), False)]
    bar, _ = rig.feeds["AAPL"]._ready[0]
    assert bar == Bar("AAPL", at(14, 0), 60, 50.0, 50.0, 50.0, 50.0, 20.0)


def test_completed_bar_is_held_until_the_other_symbols_bar_of_that_period_arrives() -> None:
    rig = Rig(grace=2.0)
    rig.pump(*minute("GOOG", at(14, 0)))
    assert rig.feeds["GOOG"].pending == 0  # held: AAPL's 14:00 bar is not in yet
    rig.mono = 0.5
    rig.pump(*minute("AAPL", at(14, 0)))
    assert rig.released("GOOG") == [(at(14, 0), False)]
    assert rig.released("AAPL") == [(at(14, 0), False)]


def test_laggard_is_waited_for_at_most_grace_on_the_monotonic_clock() -> None:
    rig = Rig(grace=2.0)
    rig.mono = 10.0
    rig.pump(*minute("GOOG", at(14, 0)))
    rig.mono = 11.999
    rig.pump()
    assert rig.feeds["GOOG"].pending == 0
    rig.mono = 12.0
    rig.pump()
    assert rig.released("GOOG") == [(at(14, 0), False)]
    assert rig.feeds["AAPL"].pending == 0


def test_symbol_whose_market_is_closed_is_not_waited_for() -> None:
    rig = Rig(grace=2.0)
    rig.store.set_contracts({
        "GOOG": ContractInfo("GOOG", 1, "US/Eastern", "20240311:0930-20240311:1600", 0.01),
        "AAPL": ContractInfo("AAPL", 2, "US/Eastern", "20240311:CLOSED", 0.01),
        "MSFT": ContractInfo("MSFT", 3, "US/Eastern", "20240311:0930-20240311:1600", 0.01),
    })  # fmt: skip
    assert set(rig.store.hours) == {"GOOG", "AAPL"}  # not a feed of this store: ignored
    assert rig.store.market_open("GOOG", at(14, 1))
    assert not rig.store.market_open("AAPL", at(14, 1))
    rig.pump(*minute("GOOG", at(14, 0)))
    assert rig.released("GOOG") == [(at(14, 0), False)]  # at once, no grace spent


def test_periods_are_released_in_time_order() -> None:
    rig = Rig(grace=2.0)
    rig.pump(*minute("GOOG", at(14, 0)))  # AAPL's 14:00 never comes
    rig.mono = 1.0
    rig.market = at(14, 2)
    rig.pump(*minute("GOOG", at(14, 1)), *minute("AAPL", at(14, 1)))
    # 14:01 is complete, but 14:00 is still waiting: nothing overtakes it
    assert rig.feeds["GOOG"].pending == 0 and rig.feeds["AAPL"].pending == 0
    rig.mono = 2.0
    rig.pump()
    assert rig.released("GOOG") == [(at(14, 0), False), (at(14, 1), False)]
    assert rig.released("AAPL") == [(at(14, 1), False)]


def test_periods_that_ended_without_a_closing_bar_are_flushed_by_market_time() -> None:
    rig = Rig()
    rig.market = at(14, 0, 45)
    rig.pump(BarReceived(five("GOOG", at(14, 0), 10.0)), BarReceived(five("AAPL", at(14, 0, 5))))
    assert rig.feeds["GOOG"].pending == 0 and rig.feeds["AAPL"].pending == 0
    rig.market = at(14, 1)
    rig.pump()  # nothing new arrived: market time alone ends the period
    assert rig.released("GOOG") == [(at(14, 0), False)]
    assert rig.released("AAPL") == [(at(14, 0), False)]


def test_wait_is_until_the_handlers_next_check_or_the_held_bars_grace() -> None:
    rig = Rig(grace=2.0, wait=30.0)
    rig.mono = 5.0
    rig.pump()  # the handler's first check is due at once: no blocking wait
    assert rig.inbox.timeouts == []
    assert rig.handler.ticks == 1
    rig.mono = 10.0
    rig.pump()  # its check asked for 30 s at mono 5.0
    assert rig.inbox.timeouts == [25.0]
    rig.pump(*minute("GOOG", at(14, 0)))  # (next check: mono 40) a bar held since mono 10
    rig.mono = 10.5
    rig.pump()
    assert rig.inbox.timeouts[-1] == 1.5  # wake when the laggard's grace runs out
    rig.mono = 13.0
    assert rig.store._wait_seconds() == 0.0  # overdue: do not wait at all


def test_after_stop_the_pump_does_not_block() -> None:
    rig = Rig(wait=30.0)
    rig.store.stop()
    rig.pump(object())
    assert rig.inbox.timeouts == []  # get_nowait, not a blocking get
    assert len(rig.handler.events) == 1


# -- event handling --------------------------------------------------------------------------------
def test_nothing_is_read_from_the_queue_while_a_feed_still_has_pending_bars() -> None:
    rig = Rig()
    rig.feeds["GOOG"].add_live(Bar("GOOG", at(14, 0), 60, 1, 1, 1, 1, 1))
    fill = object()
    rig.send(fill)
    assert rig.store.get_notifications() == []
    assert rig.handler.events == [] and list(rig.inbox.items) == [fill]
    assert rig.handler.ticks == 0 and rig.pumps == 0
    rig.take("GOOG")  # the strategy has seen the bar
    rig.store.get_notifications()
    assert rig.handler.events == [fill] and not rig.inbox.items


def test_nothing_is_read_while_a_tick_feed_has_pending_quotes() -> None:
    rig = Rig(symbols=("GOOG",), ticks=True)
    rig.ticks[0].add(Quote("GOOG", at(14, 0), 99.0, 101.0, 100.0))
    rig.pump(object())
    assert rig.handler.events == [] and len(rig.inbox.items) == 1
    rig.ticks[0]._ready.clear()
    rig.pump()
    assert len(rig.handler.events) == 1


def test_other_events_go_to_the_handler_in_arrival_order_then_one_periodic_check() -> None:
    rig = Rig(symbols=("GOOG",))
    rig.market = at(14, 0, 20)  # the 5-s bar below only starts a minute bar
    a, b, c = object(), object(), object()
    rig.pump(a, BarReceived(five("GOOG", at(14, 0, 10), 7.0)), b, c)
    assert rig.handler.events == [a, b, c]
    assert rig.handler.seen_at_tick == [3]  # one periodic check, after the queue drained
    assert rig.pumps == 1
    rig.pump()
    assert rig.handler.seen_at_tick == [3, 3]
    assert rig.pumps == 2


def test_stream_bars_update_last_price_and_the_watchdogs_input() -> None:
    rig = Rig(symbols=("GOOG",))
    rig.pump(BarReceived(five("GOOG", at(14, 0, 10), 7.5)),
             BarReceived(five("MSFT", at(14, 0, 10), 1.0)))  # fmt: skip
    assert rig.store.last_stream_bar == {"GOOG": at(14, 0, 15)}  # the 5-s bar's end
    assert rig.store.last_price == {"GOOG": 7.5}  # an unknown symbol's bar is dropped
    assert rig.handler.events == []


def test_quotes_update_last_price_and_reach_the_tick_feed_stamped_with_market_time() -> None:
    rig = Rig(symbols=("GOOG",), ticks=True)
    rig.market = at(14, 0, 3)
    rig.pump(QuoteReceived(Quote("GOOG", at(9, 0), 99.0, 101.0, 100.25)),
             QuoteReceived(Quote("GOOG", at(9, 0), 99.0, 101.0, 0.0)))  # fmt: skip
    assert rig.store.last_price == {"GOOG": 100.25}  # a quote without a trade keeps it
    assert [q.time for q in rig.ticks[0]._ready] == [at(14, 0, 3), at(14, 0, 3)]
    assert rig.handler.events == []


# -- history -----------------------------------------------------------------------------------
class History:
    def __init__(self, bars: list[Bar]) -> None:
        self.bars, self.calls = bars, []

    def __call__(self, symbol: str, duration: str, size: str) -> list[Bar]:
        self.calls.append((symbol, duration, size))
        return [b for b in self.bars if b.symbol == symbol]


def test_backfill_queues_the_last_bars_as_history_and_seeds_the_one_in_progress() -> None:
    rig = Rig(symbols=("GOOG",))
    for feed in rig.feeds.values():
        feed.start()
    rig.market = at(14, 0, 30)
    bars = [Bar("GOOG", at(13, 54) + timedelta(minutes=i), 60, 100.0, 101.0, 99.0, 100.0 + i, 50)
            for i in range(7)]  # fmt: skip  # 13:54 .. 14:00, the last still in progress
    history = History(bars)
    rig.store.backfill(history, 3)
    assert history.calls == [("GOOG", "2 D", "1 min")]
    assert rig.released("GOOG") == [(at(13, 57), True), (at(13, 58), True), (at(13, 59), True)]
    for _ in range(3):
        rig.take("GOOG")
    rig.pump(BarReceived(five("GOOG", at(14, 0, 25), 500.0)),  # already in the history bar
             BarReceived(five("GOOG", at(14, 0, 55), 98.0, 5)))  # fmt: skip
    bar, historical = rig.feeds["GOOG"]._ready[0]
    assert not historical
    assert bar == Bar("GOOG", at(14, 0), 60, 100.0, 101.0, 98.0, 98.0, 55.0)


def test_fill_gap_adds_the_missed_bars_as_history() -> None:
    rig = Rig(symbols=("GOOG", "AAPL"))
    goog = rig.feeds["GOOG"]
    goog.last_bar = Bar("GOOG", at(14, 0), 60, 1, 1, 1, 1, 1)
    rig.feeds["AAPL"].last_bar = Bar("AAPL", at(14, 9), 60, 1, 1, 1, 1, 1)  # 1 bar: no gap
    rig.market = at(14, 10, 30)
    history = History([Bar("GOOG", at(13, 59) + timedelta(minutes=i), 60, 1, 1, 1, 1, 1)
                       for i in range(12)])  # fmt: skip  # 13:59 .. 14:10 (in progress)
    rig.store.fill_gap(history, 30)
    assert history.calls == [("GOOG", "2 D", "1 min")]
    assert rig.released("GOOG") == [(at(14, m), True) for m in range(1, 10)]
    assert rig.feeds["AAPL"].pending == 0


def test_a_gap_of_years_asks_only_for_the_warm_up_window() -> None:
    """A simulator restarted at another date (or a clock that jumped) left a gap of 20
    years: the worker asked for 20 years of minute bars. Only the newest window helps."""
    rig = Rig(symbols=("GOOG",))
    goog = rig.feeds["GOOG"]
    goog.last_bar = Bar("GOOG", datetime(2006, 2, 16, 15, 0, tzinfo=UTC), 60, 1, 1, 1, 1, 1)
    rig.market = at(14, 10, 30)  # 2024
    history = History([Bar("GOOG", at(13, 59) + timedelta(minutes=i), 60, 1, 1, 1, 1, 1)
                       for i in range(12)])  # fmt: skip  # 13:59 .. 14:10 (in progress)
    with structlog.testing.capture_logs() as logs:
        rig.store.fill_gap(history, 5)
    assert history.calls == [("GOOG", "2 D", "1 min")]  # a session, not 6,600 days
    assert rig.released("GOOG") == [(at(14, m), True) for m in range(5, 10)]  # the newest 5
    skipped = [e for e in logs if e["event"].startswith("gap fill bounded")]
    assert skipped and skipped[0]["requested"] == 5 and skipped[0]["missed"] > 9_000_000


@pytest.mark.parametrize(
    ("seconds", "bars", "expected"),
    [
        (86400, 0, ("1 Y", "1 day")),
        (86400, 239, ("1 Y", "1 day")),
        (86400, 240, ("2 Y", "1 day")),
        (86400, 500, ("3 Y", "1 day")),
        (5, 1, ("60 S", "5 secs")),  # IB's minimum
        (5, 100, ("500 S", "5 secs")),
        (5, 5000, ("3600 S", "5 secs")),  # IB's maximum for 5-s bars
        (60, 0, ("1 D", "1 min")),
        (60, 390, ("2 D", "1 min")),  # one full session + today's partial one
        (60, 391, ("3 D", "1 min")),
        (300, 78, ("2 D", "5 mins")),
        (300, 100, ("3 D", "5 mins")),
        (900, 26, ("2 D", "15 mins")),
        (1800, 14, ("3 D", "30 mins")),
        (3600, 50, ("9 D", "1 hour")),
    ],
)
def test_history_request(seconds: int, bars: int, expected: tuple[str, str]) -> None:
    assert history_request(seconds, bars) == expected
