"""The worker's event pump, in Backtrader's loop: the one place the main thread waits.

Cerebro asks every store for notifications at the top of each loop iteration. Here that
call blocks on the IB event queue until something arrives (or the next deadline: a
held bar, a periodic check), then drains the queue: 5-second bars are aggregated into
the feeds, everything else goes to the worker's handler (orders, fills, account, link).
No fixed polling delay sits on the order path: a fill wakes the loop at once.

Completed bars of one period are released to the feeds together (up to a short grace
for the laggards), so a multi-symbol strategy gets one `next()` per period with all its
symbols updated, as in a backtest, instead of one call per symbol.
"""

from __future__ import annotations

import math
import queue
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import structlog

from tradd.ib.bars import DAY
from tradd.ib.events import BarReceived, QuoteReceived
from tradd.ib.feed import LiveFeed, TickFeed
from tradd.ib.hours import MarketHours
from tradd.ib.types import Bar, ContractInfo, Quote

log = structlog.get_logger("tradd.ib.store")
SESSION_SECONDS = 6.5 * 3600
MAX_DRAIN = 10_000
"""Events handled per pump before Backtrader gets a turn (a burst of fills is far less)."""


class StoreHandler(Protocol):
    """The worker side of the pump (runs on the main thread)."""

    def handle(self, event: object) -> None: ...
    def tick(self) -> float:
        """Periodic work; returns the seconds until it next needs to run."""
        ...


class IBStore:
    def __init__(
        self,
        inbox: queue.SimpleQueue[object],
        feeds: list[LiveFeed],
        handler: StoreHandler,
        ticks: Sequence[TickFeed] = (),
        *,
        market_now: Callable[[], datetime],
        grace: float,
        monotonic: Callable[[], float] = time.monotonic,
        on_pump: Callable[[], None] | None = None,
        seen: Callable[[datetime], None] = lambda stamp: None,
    ) -> None:
        self._inbox, self._handler, self._on_pump, self._seen = inbox, handler, on_pump, seen
        self.feeds = {f.symbol: f for f in feeds}
        self.ticks: dict[str, TickFeed] = {t.symbol: t for t in ticks}
        self._market_now, self._grace, self._monotonic = market_now, grace, monotonic
        self.hours: dict[str, MarketHours] = {}
        self.last_price: dict[str, float] = {}
        self.last_stream_bar: dict[str, datetime] = {}
        """Market time of each symbol's newest 5-second bar (its end)."""
        self.last_heard: dict[str, datetime] = {}
        """When, in market time, each symbol's newest 5-second bar was taken in (the
        staleness watchdog's input): silence is counted on the worker's own market clock,
        so a clock that lags or leads the gateway's does not make a flowing feed look
        silent. Never earlier than the bar's end (a clock that lags proves nothing)."""
        self._held: dict[datetime, dict[str, Bar]] = {}
        self._held_since: dict[datetime, float] = {}
        self._stopping = False
        self._deferred: deque[object] = deque()
        self._next_tick = 0.0
        self._released_until: datetime | None = None
        self._warming: set[str] = set()
        """Feeds whose warm-up history is still to come (a backfill began, not finished)."""
        self._backfilled = False
        """A backfill has begun (the first one decides which feeds warm up)."""
        self.bars_handed_at: float | None = None
        """When (monotonic) this turn of the pump first handed completed live bars to the
        feeds; None when it handed none. Orders the strategy sends before the next turn
        were caused by those bars (the worker's bar-to-order latency)."""

    # -- Backtrader's store protocol -------------------------------------------------------
    def start(self) -> None:
        """Nothing to do: the link is started by the worker before Cerebro runs."""

    def stop(self) -> None:
        self._stopping = True

    def get_notifications(self) -> list[Any]:
        """Block until an event (or a deadline), handle everything queued, return nothing.

        While a feed still holds bars Backtrader has not read, nothing is taken from the
        queue: events are handled strictly in arrival order, and whatever arrived after
        a bar (a fill, a command) is handled only once the strategy has seen that bar."""
        if self._unread():
            return []
        self._pump(0.0 if self._stopping else self._wait_seconds())
        return []

    def _unread(self) -> bool:
        return any(f.pending for f in self.feeds.values()) or any(
            t.pending for t in self.ticks.values()
        )

    # -- pumping ---------------------------------------------------------------------------
    def _wait_seconds(self) -> float:
        """Until the handler's next periodic check, or the first held bar's grace ends."""
        wait = self._next_tick - self._monotonic()
        if self._held_since:
            first = min(self._held_since.values()) + self._grace - self._monotonic()
            wait = min(wait, first)
        return max(wait, 0.0)

    def _pump(self, wait: float) -> None:
        """Handle everything queued (waiting up to `wait` for the first event), then run the
        handler's periodic checks: after the queue is drained, so they see fresh data.

        A bar completed by this drain goes to the strategy before anything that arrived
        after it is handled: such an event waits (in `_deferred`) for the next turn."""
        self.bars_handed_at = None
        event = self._next_event(wait)
        handled = 0
        while event is not None and handled < MAX_DRAIN:
            if not isinstance(event, BarReceived | QuoteReceived) and self._bars_waiting():
                self._deferred.appendleft(event)
                break
            self._dispatch(event)
            handled += 1
            event = self._next_event(0.0)
        self._release_held(self._market_now())
        self._next_tick = self._monotonic() + self._handler.tick()
        if self._on_pump is not None:
            self._on_pump()

    def _next_event(self, wait: float) -> object | None:
        if self._deferred:
            return self._deferred.popleft()
        try:
            return self._inbox.get(timeout=wait) if wait > 0 else self._inbox.get_nowait()
        except queue.Empty:
            return None

    def _bars_waiting(self) -> bool:
        """Completed bars released now would be read by Backtrader first: any waiting?"""
        self._release_held(self._market_now())
        return self._unread()

    def _dispatch(self, event: object) -> None:
        if isinstance(event, BarReceived):
            self._on_stream_bar(event.bar)
        elif isinstance(event, QuoteReceived):
            self._on_quote(event.quote)
        else:
            self._handler.handle(event)

    def _on_quote(self, quote: Quote) -> None:
        if quote.last > 0:
            self.last_price[quote.symbol] = quote.last
        feed = self.ticks.get(quote.symbol)
        if feed is not None:
            feed.add(replace(quote, time=self._market_now()))

    def _on_stream_bar(self, bar: Bar) -> None:
        feed = self.feeds.get(bar.symbol)
        if feed is None:
            return
        self.last_price[bar.symbol] = bar.close
        end = bar.start + timedelta(seconds=bar.seconds)
        self._seen(end)
        self.last_stream_bar[bar.symbol] = end
        self.last_heard[bar.symbol] = max(end, self._market_now())
        for done in feed.aggregator.add(bar):
            self._hold(done)

    # -- the per-period barrier --------------------------------------------------------------
    def _hold(self, bar: Bar) -> None:
        if self._released_until is not None and bar.start <= self._released_until:
            self._hand(bar)  # its period already went out: no waiting
            return
        self._held.setdefault(bar.start, {})[bar.symbol] = bar
        self._held_since.setdefault(bar.start, self._monotonic())

    def _release_held(self, now: datetime) -> None:
        for feed in self.feeds.values():  # periods that ended without a closing 5-s bar
            for done in feed.aggregator.flush(now):
                self._hold(done)
        if self._warming:
            return  # live bars wait for every feed's history: time never runs backwards
        for start in sorted(self._held):
            bars = self._held[start]
            waiting = [s for s in self.feeds if s not in bars and self.market_open(s, now)]
            overdue = self._monotonic() - self._held_since[start] >= self._grace
            if waiting and not overdue:
                break  # keep later periods behind this one: bars go out in time order
            for bar in bars.values():
                self._hand(bar)
            self._released_until = start
            del self._held[start], self._held_since[start]

    def _hand(self, bar: Bar) -> None:
        self.feeds[bar.symbol].add_live(bar)
        if self.bars_handed_at is None:
            self.bars_handed_at = self._monotonic()

    def set_contracts(self, contracts: Mapping[str, ContractInfo]) -> None:
        """Trading hours and zones from IB's contract details (refreshed on each connect)."""
        for symbol, info in contracts.items():
            if symbol in self.feeds:
                self.hours[symbol] = MarketHours(info.liquid_hours, info.time_zone)
                if self.feeds[symbol].last_bar is None:
                    self.feeds[symbol].set_exchange(info.time_zone)
                if symbol in self.ticks:
                    self.ticks[symbol].set_exchange(info.time_zone)

    def market_open(self, symbol: str, now: datetime) -> bool:
        hours = self.hours.get(symbol)
        return True if hours is None else hours.is_open(now)

    def session_start(self, symbol: str, now: datetime) -> datetime | None:
        """When the symbol's current session opened; None while its market is closed
        (hours unknown: always open)."""
        hours = self.hours.get(symbol)
        return datetime.min.replace(tzinfo=UTC) if hours is None else hours.session_start(now)

    # -- history -----------------------------------------------------------------------------
    def backfill(self, history: Callable[[str, str, str], list[Bar]], bars: int) -> None:
        """Warm-up: the last `bars` bars of every feed, queued before any live bar."""
        now = self._market_now()
        if not self._backfilled:
            self._warming = set(self.feeds)
            self._backfilled = True
        for symbol, feed in self.feeds.items():
            if symbol not in self._warming:
                continue  # a retry after a failure: this one is done
            duration, size = history_request(feed.bar_seconds, bars)
            got = history(symbol, duration, size)
            feed.add_history(got[-(bars + 1) :] if bars else [], now)
            feed.end_history()
            self._warming.discard(symbol)
            if got:  # a price for positions before the first live bar (or out of hours)
                self.last_price.setdefault(symbol, got[-1].close)
            log.info("history loaded", symbol=symbol, bars=len(got), duration=duration)

    def fill_gap(self, history: Callable[[str, str, str], list[Bar]], window: int) -> None:
        """After a reconnect: the bars missed while down, as history (no trading on them).

        At most the newest `window` bars (the strategy's warm-up): older ones are of no use
        to it, and a gap of years (a simulator restarted at another date) would otherwise
        ask the gateway for years of bars."""
        now = self._market_now()
        for symbol, feed in self.feeds.items():
            last = feed.last_queued or feed.last_bar  # a retried gap fill adds nothing twice
            if last is None or (now - last.start).total_seconds() < 2 * feed.bar_seconds:
                continue
            wanted = _bounded_gap(symbol, last, now, feed.bar_seconds, max(window, 1))
            duration, size = history_request(feed.bar_seconds, wanted + 1)
            got = history(symbol, duration, size)
            fresh = [b for b in got if b.start > last.start][-(wanted + 1) :]
            # The bar in progress before the outage lacks what was missed: history has it.
            feed.reset_aggregator()
            for held in self._held.values():
                held.pop(symbol, None)
            feed.add_history(fresh, now)
            log.info("gap filled", symbol=symbol, bars=len(fresh))
        for start in [s for s, bars in self._held.items() if not bars]:
            del self._held[start], self._held_since[start]


def _bounded_gap(symbol: str, last: Bar, now: datetime, bar_seconds: int, window: int) -> int:
    """How many bars to fetch after `last`: those missed, at most `window`."""
    missed = int((now - last.start).total_seconds() // bar_seconds)
    if missed <= window:
        return missed
    log.info(  # a night or a weekend: routine; the newest `window` bars are enough
        "gap fill bounded to the warm-up window; older bars skipped",
        symbol=symbol, missed=missed, requested=window, since=last.start.isoformat(),
    )  # fmt: skip
    return window


def history_request(bar_seconds: int, bars: int) -> tuple[str, str]:
    """IB duration and bar-size strings covering at least `bars` bars of regular hours."""
    if bar_seconds >= DAY:
        return f"{bars // 240 + 1} Y", "1 day"
    if bar_seconds == 5:
        return f"{min(max(bars * 5, 60), 3600)} S", "5 secs"  # IB's limit for 5-s bars
    sizes = {60: "1 min", 300: "5 mins", 900: "15 mins", 1800: "30 mins", 3600: "1 hour"}
    sessions = math.ceil(bars * bar_seconds / SESSION_SECONDS) + 1  # + today's partial one
    return f"{sessions} D", sizes[bar_seconds]
