"""`tradd run` across a night at the simulator's speed, as `make run` runs it.

The simulator is paused at the fixture's start, moved to the afternoon, then let run at
600x: it reaches the close, skips the night in one jump and opens the next session. The
real worker follows the gateway's clock (reqCurrentTime, extrapolated on the wall clock).
Its strategy orders on each of the day's last bars and the next session's first: none is
refused and every one fills.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.fixtures.simulator import GOOG_OPEN, eventually, strategy_entry

from .conftest import daemon_document

SPEED = 600.0
AFTERNOON = GOOG_OPEN + 5 * 3600  # 14:30 New York: 90 minutes (9 s at 600x) to the close
LAST_BAR = 390  # the live bar ending at the close, 16:00
NEXT_OPEN = datetime.fromtimestamp(GOOG_OPEN, UTC) + timedelta(days=1)
BEFORE, AFTER = 10, 15  # orders on the last bars of the day and the first of the next


def test_trades_from_the_first_bar_after_a_night_at_speed(
    tmp_path, simulator, sqlite_url, start_daemon, ledger_for
) -> None:
    bars = range(LAST_BAR - BEFORE + 1, LAST_BAR + AFTER + 1)
    script = ";".join(f"{n}:{'BUY' if n % 2 else 'SELL'}:1" for n in bars)
    entry = strategy_entry("s1", params={"script": script})
    broker = {"probe_interval": 5.0, "probe_timeout": 10.0}  # a loaded machine at 600x
    daemon = start_daemon(daemon_document(tmp_path, simulator, sqlite_url, [entry], broker=broker))
    daemon.wait_trading("s1")
    simulator.call(simulator.gw.advance, AFTERNOON - simulator.gw.sim_time)
    simulator.call(simulator.gw.set_speed, SPEED)
    ledger = ledger_for()
    try:
        eventually(lambda: len(ledger.fills()) >= len(bars), 60, "an order filled on every bar")
    finally:
        simulator.call(simulator.gw.set_speed, 0)
    refused = [(d.at, d.reason) for d in ledger.risk_decisions() if d.action == "BLOCKED"]
    assert refused == []
    assert len(ledger.fills()) == len(bars)
    at = simulator.call(lambda: sorted(e.time for e in simulator.gw.state.executions))
    next_session = [datetime.fromtimestamp(t, UTC) for t in at if t >= NEXT_OPEN.timestamp()]
    assert len(next_session) >= AFTER - 3  # (bars are counted from the worker's start)
    assert next_session[0] < NEXT_OPEN + timedelta(minutes=2)  # the order of its first bar
    feeds = daemon.strategies()["s1"]["worker"]["feeds"]
    assert feeds == {"GOOG": "ok"}
