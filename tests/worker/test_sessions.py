"""Trading across nights, a weekend and a holiday on the gateway's own clock.

The worker runs as `make run` has it (`market_clock = "gateway"`): market time is the
simulator's, sampled with reqCurrentTime and extrapolated on a wall clock. The simulator
is paused; the test plays it at 600x: every simulated minute of a session moves the
worker's (injected) wall clock by 0.1 s, and closed time is skipped in one jump, as the
simulator does at speed. From the first bar of every session the worker must be
tradable: feeds OK, no gate refusal, orders filled.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from structlog.testing import capture_logs

from tests.fixtures.simulator import GOOG_OPEN, Live, MarketClock, strategy_entry, worker_settings
from tradd.persistence.models import OrderStatus
from tradd.simgw.background import BackgroundGateway
from tradd.simgw.gateway import first_open
from tradd.worker.app import Worker, WorkerOptions

SPEED = 600.0
SESSION_MINUTES = 390


class Wall:
    """The worker's wall clock, moved by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def start(tmp_path: Path, sim: BackgroundGateway, url: str, wall: Wall) -> Live:
    settings = worker_settings(tmp_path, sim.port, url, [strategy_entry()],
                               broker={"market_clock": "gateway"})  # fmt: skip
    options = WorkerOptions(clock_wall=wall, install_signals=False, freeze_gc=False)
    live = Live(Worker(settings, "s1", options), sim, MarketClock(sim))
    live.worker.on_pump = live.notify
    return live.start().ready()


def minutes(live: Live, wall: Wall, count: int, check: Callable[[], None], step: int = 1) -> None:
    """`count` simulated minutes of an open market at 600x, `check` after every `step`."""
    for _ in range(count // step):
        wall.now += 60 * step / SPEED
        live.advance(60 * step)
        check()


def skip_to_next_open(live: Live, wall: Wall) -> datetime:
    """Past the close, then closed time skipped in one jump, as the simulator does."""
    gw = live.sim.gw
    opens = live.sim.call(lambda: first_open(gw.tapes, gw.sim_time + 60))
    assert opens is not None
    wall.now += 0.01

    def skip() -> None:  # what the replay loop does at speed (ReplayLoop._maybe_skip)
        gw.clock.set(opens - 5)
        gw.replay.next_boundary = opens

    live.sim.call(skip)
    live.advance(5)  # to the open itself: the session's first bar ends a minute later
    return datetime.fromtimestamp(opens, UTC)


def test_tradable_from_the_first_bar_after_nights_a_weekend_and_a_holiday(
    tmp_path: Path, simulator: BackgroundGateway, sqlite_url: str, ledger_for: Any
) -> None:
    wall = Wall()
    live = start(tmp_path, simulator, sqlite_url, wall)
    try:
        play_five_sessions(live, wall, ledger_for)
    finally:
        live.stop()


def play_five_sessions(live: Live, wall: Wall, ledger_for: Any) -> None:
    simulator = live.sim
    live.advance(max(GOOG_OPEN - simulator.gw.sim_time - 5, 0))
    strategy = live.worker.cerebro.runningstrats[0]
    engine = live.engine
    blocked: list[tuple[str, str]] = []

    def tradable() -> None:
        reason = engine.blocked_reason()
        if reason or engine.watchdog.health != {"GOOG": "ok"}:
            blocked.append((simulator.gw.sim_datetime.isoformat(), reason))
        # IB's hours cover about six days: a week on one connection needs them fetched again
        assert engine.store is not None
        traded = simulator.gw.sim_datetime - timedelta(seconds=1)  # the minute just played
        if not engine.store.market_open("GOOG", traded):
            blocked.append((traded.isoformat(), "hours say closed"))

    sessions = []
    with capture_logs() as logs:
        # Tuesday 2006-01-10 to Friday, then the weekend and Martin Luther King Day.
        for _session in range(5):
            sessions.append(simulator.gw.sim_datetime)
            first = strategy.live_bars + 1
            for bar, side in ((first, "BUY"), (first + 2, "SELL"), (first + 10, "BUY")):
                strategy.plan[bar] = [(side, 10.0, "")]  # on the first bars of the session
            minutes(live, wall, 15, tradable)
            minutes(live, wall, SESSION_MINUTES - 15, tradable, step=15)
            skip_to_next_open(live, wall)
            assert strategy.live_bars == first - 1 + SESSION_MINUTES  # each bar once
    assert [s.strftime("%a %d") for s in sessions] == [
        "Tue 10", "Wed 11", "Thu 12", "Fri 13", "Tue 17"]  # fmt: skip
    assert blocked == []
    orders = ledger_for().orders()
    assert len(orders) == 15
    assert all(o.status == OrderStatus.FILLED for o in orders)
    assert not [e for e in logs if e["event"] in ("no bars; resubscribing", "order refused")]
