"""The supervisor end to end: real `tradd run`, real workers, the simulator, tradctl's client."""

from __future__ import annotations

import contextlib
import os
import signal

from tests.fixtures.simulator import eventually, strategy_entry
from tests.worker.conftest import sim_ledger

from .conftest import daemon_document


def bar(sim) -> None:
    sim.call(sim.gw.advance, 60)


def two_strategies() -> list[dict]:
    return [
        strategy_entry("s1", params={"script": "1:BUY:10"}),
        strategy_entry("s2", client_id=12, symbols=["ORCL"], params={"script": "1:BUY:20"}),
    ]


def both_holding(tmp_path, simulator, sqlite_url, start_daemon):
    """A daemon running both strategies, each holding its first fill; and their pids."""
    daemon = start_daemon(daemon_document(tmp_path, simulator, sqlite_url, two_strategies()))
    pids = {n: daemon.wait_trading(n)["pid"] for n in ("s1", "s2")}
    bar(simulator)
    eventually(lambda: sim_ledger(simulator, "s")["positions"] == {"GOOG": 10.0, "ORCL": 20.0},
               20, "both strategies filled")  # fmt: skip
    return daemon, pids


def test_status_shows_both_strategies_trading(
    tmp_path, simulator, sqlite_url, start_daemon
) -> None:
    daemon, _ = both_holding(tmp_path, simulator, sqlite_url, start_daemon)
    status = daemon.strategies()
    assert status["s1"]["worker"]["connection"] == "connected"
    eventually(
        lambda: (
            daemon.strategies()["s2"]["worker"]["positions"].get("ORCL", {}).get("quantity") == 20
        ),
        10,
    )
    health = daemon.result("health")
    assert health["ok"] and health["not_running"] == []


def test_a_killed_worker_is_restarted_and_reconciled(
    tmp_path, simulator, sqlite_url, start_daemon, ledger_for
) -> None:
    daemon = start_daemon(daemon_document(tmp_path, simulator, sqlite_url, two_strategies()[:1]))
    first = daemon.wait_trading("s1")
    bar(simulator)
    eventually(lambda: sim_ledger(simulator)["positions"] == {"GOOG": 10.0}, 20, "filled")
    os.kill(first["pid"], signal.SIGKILL)
    again = daemon.wait_state(
        "s1", "RUNNING", 60, lambda s: s["pid"] != first["pid"] and s["worker"].get("ready")
    )
    assert again["pid"] != first["pid"] and again["restarts"] == 1
    assert again["worker"]["positions"]["GOOG"]["quantity"] == 10
    assert again["worker"]["trading_state"] == "ACTIVE"
    kinds = [e["kind"] for e in daemon.result("events")["events"]]
    assert "worker_crashed" in kinds
    from tests.worker.conftest import assert_ledger_matches_simulator

    assert_ledger_matches_simulator(simulator, ledger_for())


def test_a_crash_looping_strategy_goes_fatal_and_raises_an_event(
    tmp_path, simulator, sqlite_url, start_daemon
) -> None:
    entries = [strategy_entry("s1"), strategy_entry("crashy", client_id=13,
                                                    strategy="tests.supervisor.strategies.Crashing")]  # fmt: skip
    daemon = start_daemon(daemon_document(tmp_path, simulator, sqlite_url, entries))
    fatal = daemon.wait_state("crashy", "FATAL", 90)
    assert fatal["restarts"] == 2 and "crash loop" in fatal["reason"]
    events = daemon.result("events")["events"]
    loop = [e for e in events if e["kind"] == "crash_loop"]
    assert loop and loop[0]["severity"] == "critical" and loop[0]["data"]["strategy"] == "crashy"
    assert daemon.strategies()["s1"]["state"] == "RUNNING"
    health = daemon.result("health")
    assert not health["ok"] and health["not_running"] == ["crashy"]


EDITABLE = """from tests.worker.strategies import Scripted


class Editable(Scripted):
    params = ({extra})
"""


def test_a_config_error_exits_78_and_is_not_restarted(
    tmp_path, simulator, sqlite_url, start_daemon
) -> None:
    """`tradd run` refuses a bad parameter at start, so a worker meets one only when the
    strategy's file changed under a running daemon; a restart then exits 78 for good."""
    (tmp_path / "editable_strats").mkdir()
    module = tmp_path / "editable_strats" / "mod.py"
    module.write_text(EDITABLE.format(extra='("no_such_param", 0),'))
    entries = [strategy_entry("s1", strategy="editable_strats.mod.Editable",
                              params={"no_such_param": 1})]  # fmt: skip
    daemon = start_daemon(daemon_document(tmp_path, simulator, sqlite_url, entries),
                          env={"PYTHONPATH": str(tmp_path)})  # fmt: skip
    daemon.wait_trading("s1", 60)
    module.write_text(EDITABLE.format(extra=""))  # the parameter is gone from the class
    daemon.result("restart", strategy="s1")
    exited = daemon.wait_state("s1", "EXITED", 60)
    assert exited["exit_code"] == 78 and exited["restarts"] == 0
    assert "strategies.s1.params: no_such_param = 1" in exited["reason"]  # its exit report
    [event] = [e for e in daemon.result("events")["events"] if e["kind"] == "worker_config_error"]
    assert "no_such_param" in event["message"]


def test_flatten_all_leaves_the_account_flat_and_strategies_halted(
    tmp_path, simulator, sqlite_url, start_daemon
) -> None:
    daemon, _ = both_holding(tmp_path, simulator, sqlite_url, start_daemon)
    result = daemon.result("flatten", all=True)
    assert result["ok"], result
    assert {n: r["path"] for n, r in result["strategies"].items()} == {
        "s1": "worker",
        "s2": "worker",
    }
    assert result["strategies"]["s1"]["symbols"]["GOOG"] == {
        "before": 10.0,
        "after": 0.0,
        "result": "flat",
    }
    assert sim_ledger(simulator, "s")["positions"] == {}
    for name in ("s1", "s2"):
        daemon.wait_state(name, "RUNNING", 10, lambda s: s["worker"]["trading_state"] == "HALTED")
    bar(simulator)
    assert sim_ledger(simulator, "s")["positions"] == {}
    resumed = daemon.result("resume", strategy="s1")
    assert resumed["trading_state"] == "ACTIVE"


def test_stop_start_pause_resume(tmp_path, simulator, sqlite_url, start_daemon) -> None:
    daemon = start_daemon(daemon_document(tmp_path, simulator, sqlite_url, two_strategies()[:1]))
    daemon.wait_trading("s1")
    assert daemon.result("pause", strategy="s1")["trading_state"] == "REDUCING"
    assert daemon.result("resume", strategy="s1")["trading_state"] == "ACTIVE"
    assert daemon.result("stop", strategy="s1")["state"] == "STOPPED"
    refused = daemon.call("pause", strategy="s1")
    assert refused["error"]["code"] == "unavailable"
    assert daemon.call("stop", strategy="nope")["error"]["code"] == "unknown_strategy"
    daemon.result("start", strategy="s1")
    daemon.wait_trading("s1")
    daemon.result("restart", strategy="s1")
    assert daemon.wait_trading("s1")["restarts"] == 0


def test_sigterm_stops_workers_and_the_daemon_cleanly(
    tmp_path, simulator, sqlite_url, start_daemon
) -> None:
    entries = [strategy_entry("s1", params={"script": "1:LIMIT_BUY:5"})]
    daemon = start_daemon(daemon_document(tmp_path, simulator, sqlite_url, entries))
    pid = daemon.wait_trading("s1")["pid"]
    bar(simulator)
    eventually(lambda: sim_ledger(simulator)["orders"] == ["s1-1"], 20, "limit order working")
    daemon.proc.send_signal(signal.SIGTERM)
    assert daemon.proc.wait(40) == 0
    assert not daemon.socket.exists()
    import pytest

    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    working = [o for o in simulator.call(lambda: list(simulator.gw.state.orders.values()))
               if not o.is_done]  # fmt: skip
    assert working == [], "the worker cancelled its order on the way out"


def test_flatten_with_a_hung_worker_still_flattens(
    tmp_path, simulator, sqlite_url, start_daemon, ledger_for
) -> None:
    daemon, pids = both_holding(tmp_path, simulator, sqlite_url, start_daemon)
    os.kill(pids["s1"], signal.SIGSTOP)  # hung: alive, holding its IB socket, answering nothing
    try:
        result = daemon.result("flatten", all=True, timeout=120)
    finally:
        with contextlib.suppress(ProcessLookupError):  # the supervisor killed it
            os.kill(pids["s1"], signal.SIGCONT)
    assert result["ok"], result
    assert result["strategies"]["s1"]["path"] == "emergency"
    # s2 answers itself unless the stopped s1 froze holding SQLite's write lock (one file
    # shared by every worker here; PostgreSQL in production): then it is flattened too.
    assert result["strategies"]["s2"]["path"] in ("worker", "emergency")
    assert result["strategies"]["s1"]["symbols"]["GOOG"]["result"] == "flat"
    assert sim_ledger(simulator, "s")["positions"] == {}
    back = daemon.wait_state("s1", "RUNNING", 60, lambda s: s["pid"] != pids["s1"]
                             and s["worker"].get("trading_state") == "HALTED")  # fmt: skip
    assert back["worker"]["positions"] == {}
    from tests.worker.conftest import assert_ledger_matches_simulator

    assert_ledger_matches_simulator(simulator, ledger_for("s1"))


def test_workers_stop_by_themselves_when_the_supervisor_is_killed(
    tmp_path, simulator, sqlite_url, start_daemon
) -> None:
    daemon = start_daemon(daemon_document(tmp_path, simulator, sqlite_url, two_strategies()))
    pids = [daemon.wait_trading(n)["pid"] for n in ("s1", "s2")]
    daemon.proc.kill()
    daemon.proc.wait(10)

    from tradd.supervisor.daemonize import pid_alive  # a zombie (nobody reaps it) is dead

    eventually(lambda: not any(pid_alive(p) for p in pids), 30, "orphaned workers stopped")
