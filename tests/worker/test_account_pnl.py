"""Every strategy of one account shows the same account P&L today (issue 15): the day
starts from the account's equity at the previous close, and a strategy started later in
the day takes the start the others recorded instead of its own first look."""

from __future__ import annotations

import pytest

from tests.fixtures.simulator import GOOG_OPEN, strategy_entry, worker_settings


def status(live) -> dict:
    return live.worker.command("status")


def settled(*lives) -> None:
    for live in lives:
        live.clock.catch_up()
    for live in lives:
        live.settle()


def run(simulator, seconds: int, *lives) -> None:
    """Market time on by `seconds`, in steps the workers keep up with (the gateway answers
    no probe while it publishes a step)."""
    for _ in range(seconds // 1800):
        simulator.call(simulator.gw.advance, 1800)
        settled(*lives)


def test_two_strategies_on_one_account_agree_on_the_pnl_today(
    tmp_path, simulator, sqlite_url, start_worker
) -> None:
    entries = [strategy_entry("s1", params={"script": "1:BUY:100"}),
               strategy_entry("s2", symbols=["ORCL"], client_id=12)]  # fmt: skip
    slow = {"probe_interval": 5.0, "probe_timeout": 10.0}  # a step keeps the gateway busy
    settings = worker_settings(tmp_path, simulator.port, sqlite_url, entries, broker=slow)
    first = start_worker(settings, simulator, "s1").ready()
    first.advance(GOOG_OPEN - simulator.gw.sim_time + 60)  # s1 buys at the open
    run(simulator, 1800, first)  # GOOG moves: the account's equity with it
    second = start_worker(settings, simulator, "s2").ready()  # joins half an hour later
    # One account-update interval (three minutes, as TWS): s2's values at its connect
    # and s1's last periodic push differ until the next push reaches both.
    simulator.call(simulator.gw.advance, 180)
    settled(first, second)
    a, b = status(first), status(second)
    assert a["equity"] == b["equity"] and a["daily_pnl"] is not None
    assert b["daily_pnl"] == pytest.approx(a["daily_pnl"], abs=0.005)

    run(simulator, 6 * 3600, first, second)  # past the close: equity stands still
    close = status(first)["equity"]
    assert status(second)["equity"] == close
    run(simulator, 18 * 3600, first, second)  # through the night to 10:00 the next day
    a, b = status(first), status(second)
    assert a["equity"] == b["equity"] != close
    assert a["daily_pnl"] == pytest.approx(a["equity"] - close, abs=0.005)  # vs the close
    assert b["daily_pnl"] == pytest.approx(a["daily_pnl"], abs=0.005)
