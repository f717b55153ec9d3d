"""The dispatcher: sends what is due in the outbox, one asyncio task per channel.

Each channel has a task of its own, so a channel that is down or slow never delays the
others. A task sends its channel's due deliveries one at a time, longest due first, each
attempt bounded by the channel's `timeout`. A temporary failure (ChannelError with
`temporary`, a timeout, or an unexpected error inside the channel) is retried after a
backoff of `retry_initial` seconds, doubling with each failure, at most `retry_max`; a
permanent one marks the delivery failed at once.

While a channel keeps failing, its task also holds back as a whole for the same backoff
(counted over the channel's failures in a row), so a channel that is down is probed once
per backoff instead of once per waiting alert; when the hold ends, every delivery tried
during it is due again, so a channel that is back catches up at once. An alert that one
channel keeps refusing does not block the others behind it: after a failure, the delivery
that has waited longest goes next.

A channel sends at most `rate_limit` messages per `rate_window` seconds (a sliding window
over every attempt): more wait their turn, none are dropped.

Between sends a task waits on an asyncio.Event, with a timeout until the next due time;
`wake` (after `Outbox.add`) and `stop` end the wait early. Rows another process added
(it cannot wake this one) are found within `recheck` seconds. Nothing here must survive a
restart: the outbox holds every pending delivery, and `start` picks them all up.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog

from tradd.alerts.model import Channel, ChannelError
from tradd.alerts.outbox import Delivery, Outbox, clip, utc_now
from tradd.config.alerts import AlertSettings, ChannelBase
from tradd.errors import TemporaryError

log = structlog.get_logger("tradd.alerts.dispatch")

MIN_WAIT = 0.005
"""Seconds waited at least when the next delivery is due already (clocks disagree)."""
EXPONENT_MAX = 32
RECEIPT_LOGGED = 200


def backoff(failures: int, initial: float, cap: float) -> float:
    """Seconds to wait after the `failures`-th failure in a row: `initial`, doubling, at
    most `cap`."""
    return min(cap, initial * 2.0 ** min(max(failures - 1, 0), EXPONENT_MAX))


def channel_settings(settings: AlertSettings, name: str) -> ChannelBase:
    """The settings of channel `name`; a lane of another sender on the same channel
    (`web:email`: the web console's, tradd.web.notifications) has that channel's. The
    outbox keeps each lane's deliveries apart, so two processes never send one twice."""
    name = name.rpartition(":")[2]
    known: dict[str, ChannelBase] = {
        "email": settings.email,
        "sms": settings.sms,
        "webhook": settings.webhook,
    }
    if name not in known:
        raise ValueError(f"unknown alert channel {name!r}: use {', '.join(known)}")
    return known[name]


def secrets_of(settings: AlertSettings) -> tuple[str, ...]:
    """The secret values a channel's error message must never carry into a log or the
    database (the channels scrub them already; this is the second line)."""
    values = (settings.email.password, settings.sms.auth_token, settings.webhook.url)
    return tuple(v.get_secret_value() for v in values if v is not None and v.get_secret_value())


@dataclass(frozen=True)
class _Outcome:
    receipt: str = ""
    error: str | None = None
    temporary: bool = False


@dataclass
class _Lane:
    """One channel's task and what it remembers between sends."""

    name: str
    channel: Channel
    settings: ChannelBase
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    sends: deque[float] = field(default_factory=deque)
    """Monotonic times of the attempts within the current rate window."""
    failures: int = 0
    """Temporary send failures in a row."""
    errors: int = 0
    """Failed turns of the loop in a row (the database, most likely)."""
    hold_until: float = -math.inf
    idle: bool = False
    """The last look found nothing due, and nothing woke the lane since."""
    task: asyncio.Task[None] | None = None


SEND_MARGIN = 5.0
"""Seconds the dispatcher waits beyond a channel's own timeout."""


class Dispatcher:
    """Delivers the outbox's pending alerts through `channels` (name -> channel)."""

    def __init__(
        self,
        outbox: Outbox,
        channels: Mapping[str, Channel],
        settings: AlertSettings,
        *,
        clock: Callable[[], datetime] = utc_now,
        monotonic: Callable[[], float] = time.monotonic,
        recheck: float = 30.0,
    ) -> None:
        mismatched = [k for k, c in channels.items() if c.name != k]
        if mismatched:
            raise ValueError(f"alert channels registered under another name: {mismatched}")
        self._outbox, self._settings = outbox, settings
        self._channels = {
            name: (c, channel_settings(settings, name)) for name, c in channels.items()
        }
        self._clock, self._monotonic, self._recheck = clock, monotonic, recheck
        self._secrets = secrets_of(settings)
        self._lanes: dict[str, _Lane] = {}
        self._progress: asyncio.Condition | None = None
        self._stopping = False

    @property
    def channels(self) -> tuple[str, ...]:
        """The channels this dispatcher delivers on."""
        return tuple(self._channels)

    async def start(self) -> None:
        """Start one task per channel; each begins with whatever is pending already."""
        if any(lane.task is not None for lane in self._lanes.values()):
            raise RuntimeError("the alert dispatcher is running already")
        self._stopping = False
        self._progress = asyncio.Condition()
        self._lanes = {n: _Lane(n, c, s) for n, (c, s) in self._channels.items()}
        loop = asyncio.get_running_loop()
        for lane in self._lanes.values():
            lane.task = loop.create_task(self._run(lane), name=f"alerts-{lane.name}")
        log.info("alert dispatcher started", channels=list(self._lanes))

    def wake(self, channel: str | None = None) -> None:
        """New deliveries are in the outbox (for `channel`, or any): look now. Call it on
        the event loop's thread; an unknown channel is ignored."""
        for lane in self._lanes.values():
            if channel is None or lane.name == channel:
                lane.idle = False
                lane.wakeup.set()

    async def stop(self, timeout: float) -> None:
        """Stop the tasks. A send under way may finish (and be marked) within `timeout`,
        then it is cancelled and stays pending, like everything not yet sent."""
        self._stopping = True
        tasks = [lane.task for lane in self._lanes.values() if lane.task is not None]
        for lane in self._lanes.values():
            lane.wakeup.set()
            lane.task = None
        if not tasks:
            return
        _, late = await asyncio.wait(tasks, timeout=timeout)
        for task in late:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        log.info("alert dispatcher stopped", cancelled=[t.get_name() for t in late])

    async def drain(self, timeout: float) -> None:
        """Wait until no channel has anything due (what waits out a backoff is not due);
        for tests and the bench. Raises TimeoutError."""
        if self._progress is None:
            raise RuntimeError("the alert dispatcher is not started")
        self.wake()
        async with self._progress:
            await asyncio.wait_for(self._progress.wait_for(self._drained), timeout)

    def _drained(self) -> bool:
        return all(lane.idle for lane in self._lanes.values())

    async def _notify(self) -> None:
        if self._progress is not None:
            async with self._progress:
                self._progress.notify_all()

    async def _run(self, lane: _Lane) -> None:
        while not self._stopping:
            lane.wakeup.clear()
            try:
                wait = self._held(lane)
                if wait <= 0:
                    wait = await self._step(lane)
                lane.errors = 0
            except Exception as exc:  # the database is unavailable, most likely: later
                lane.errors += 1
                wait = backoff(lane.errors, self._settings.retry_initial, self._settings.retry_max)
                log.warning(
                    "alert dispatch failed, retrying",
                    channel=lane.name,
                    error=self._describe(exc),
                    retry_in=wait,
                )
            if wait > 0:
                await self._sleep(lane, wait)

    async def _sleep(self, lane: _Lane, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(lane.wakeup.wait(), seconds)

    def _held(self, lane: _Lane) -> float:
        """Seconds the channel must wait before its next attempt: out its failure backoff,
        or for room in its rate window; 0 when it may send now."""
        now, window = self._monotonic(), lane.settings.rate_window
        while lane.sends and lane.sends[0] <= now - window:
            lane.sends.popleft()
        wait = lane.hold_until - now
        if len(lane.sends) >= lane.settings.rate_limit:
            wait = max(wait, lane.sends[0] + window - now)
        return max(wait, 0.0)

    async def _step(self, lane: _Lane) -> float:
        """Send the channel's most overdue delivery and return 0 (look again at once), or
        return how long to wait for the next one to come due."""
        due = await asyncio.to_thread(self._outbox.due, lane.name, 1)
        if due and not self._stopping:  # once stopping, start no new send
            await self._deliver(lane, due[0])
            return 0.0
        lane.idle = not lane.wakeup.is_set()  # a wake since the look: not idle after all
        await self._notify()
        next_at = await asyncio.to_thread(self._outbox.next_due_at, lane.name)
        if next_at is None:
            return self._recheck
        return min(self._recheck, max(MIN_WAIT, (next_at - self._clock()).total_seconds()))

    async def _deliver(self, lane: _Lane, delivery: Delivery) -> None:
        lane.idle = False
        lane.sends.append(self._monotonic())
        outcome = await self._attempt(lane, delivery)
        bound = log.bind(
            channel=lane.name,
            alert_id=delivery.alert.id,
            delivery_id=delivery.id,
            attempts=delivery.attempts + 1,
        )
        s = self._settings
        if outcome.error is None:
            await self._record(self._outbox.sent, delivery.id, outcome.receipt)
            bound.info("alert sent", receipt=clip(outcome.receipt, RECEIPT_LOGGED))
            if lane.failures:
                log.info("alert channel works again", channel=lane.name, failures=lane.failures)
                lane.failures = 0
        elif outcome.temporary:
            lane.failures += 1
            lane.hold_until = self._monotonic() + backoff(
                lane.failures, s.retry_initial, s.retry_max
            )
            delay = backoff(delivery.attempts + 1, s.retry_initial, s.retry_max)
            retry_at = self._clock() + timedelta(seconds=delay)
            await self._record(self._outbox.failed, delivery.id, outcome.error, retry_at)
            bound.warning("alert send failed, will retry", error=outcome.error, retry_in=delay)
        else:
            await self._record(self._outbox.failed, delivery.id, outcome.error, None)
            bound.error("alert send failed for good", error=outcome.error)

    async def _attempt(self, lane: _Lane, delivery: Delivery) -> _Outcome:
        # The channel bounds its own attempt by `timeout` and knows what it managed to send
        # (SMS: which numbers); this outer bound, a little longer, only catches a channel
        # that does not stop, so a slow provider is not cut off before the channel can tell.
        timeout = lane.settings.timeout + min(SEND_MARGIN, lane.settings.timeout / 2)
        try:
            receipt = await asyncio.wait_for(lane.channel.send(delivery.alert), timeout)
        except ChannelError as exc:
            error = self._scrub(str(exc)) or type(exc).__name__
            return _Outcome(error=error, temporary=exc.temporary)
        except TimeoutError:
            return _Outcome(error=f"no answer within {lane.settings.timeout:g}s", temporary=True)
        except Exception as exc:  # a bug in a channel must not lose the alert: retry it
            return _Outcome(error=f"unexpected {type(exc).__name__} in the channel", temporary=True)
        return _Outcome(receipt=self._scrub(str(receipt)))

    async def _record(self, write: Callable[..., None], *args: Any) -> None:
        """Write an attempt's outcome, retrying while the database is unavailable: a sent
        delivery left unmarked would go out again. `stop`'s timeout ends the retries."""
        for failures in itertools.count(1):
            try:
                await asyncio.to_thread(write, *args)
                return
            except TemporaryError as exc:
                wait = backoff(failures, self._settings.retry_initial, self._settings.retry_max)
                log.warning(
                    "alert delivery not recorded, retrying",
                    delivery_id=args[0],
                    error=self._describe(exc),
                    retry_in=wait,
                )
                await asyncio.sleep(wait)

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def _describe(self, exc: BaseException) -> str:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        return clip(self._scrub(lines[0]) if lines else type(exc).__name__, 300)
