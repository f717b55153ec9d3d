"""Reload validates as `tradd config check` does, against a real `tradd run`: an invalid
file changes nothing (no worker restarted, positions still watched) and says why."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

from tests.fixtures.simulator import eventually, strategy_entry
from tests.worker.conftest import sim_ledger

from .conftest import Daemon, daemon_document, write_document

FRESH = """from tests.worker.strategies import Scripted


class Fresh(Scripted):
    params = {params}
"""


def write_module(directory: Path, params: str) -> None:
    directory.mkdir(exist_ok=True)
    (directory / "fresh_strategies.py").write_text(FRESH.format(params=params))


def rejected_changes_nothing(daemon: Daemon, before: dict[str, Any], *expected: str) -> None:
    """A reload of the file on disk is refused naming `expected`; no worker moved."""
    seen = len(reload_events(daemon))
    reply = daemon.call("reload")
    assert not reply["ok"] and reply["error"]["code"] == "config_invalid", reply
    said = reply["error"]["message"] + "\n".join(reply["error"]["details"])
    assert "nothing changed" in reply["error"]["message"]
    for text in expected:
        assert text in said, (text, said)
    [event] = reload_events(daemon)[seen:]
    told = "\n".join([event["message"], *event["data"]["problems"]])
    assert all(text in told for text in expected) and "nothing changed" in event["message"]
    assert_untouched(daemon, before)


def reload_events(daemon: Daemon) -> list[dict[str, Any]]:
    return [e for e in daemon.result("events")["events"] if e["kind"] == "reload_rejected"]


def assert_untouched(daemon: Daemon, before: dict[str, Any]) -> None:
    now = daemon.strategies()
    for name, pid in before.items():
        assert now[name]["state"] == "RUNNING" and now[name]["pid"] == pid, now[name]
    s1 = now["s1"]["worker"]
    assert s1["connection"] == "connected" and s1["trading_state"] == "ACTIVE"
    assert s1["positions"]["GOOG"]["quantity"] == 10


def test_an_invalid_reload_changes_nothing_and_a_valid_one_still_applies(
    tmp_path, simulator, sqlite_url, start_daemon
) -> None:
    modules = tmp_path / "modules"
    write_module(modules, "()")
    s1 = strategy_entry("s1", params={"script": "1:BUY:10"})
    s2 = strategy_entry("s2", client_id=12, symbols=["ORCL"],
                        strategy="fresh_strategies.Fresh")  # fmt: skip
    document = daemon_document(tmp_path, simulator, sqlite_url, [s1, s2])
    daemon = start_daemon(document, env={"PYTHONPATH": str(modules)})
    before = {n: daemon.wait_trading(n)["pid"] for n in ("s1", "s2")}
    simulator.call(simulator.gw.advance, 60)
    eventually(lambda: sim_ledger(simulator)["positions"] == {"GOOG": 10.0}, 20, "s1 filled")
    eventually(lambda: daemon.strategies()["s1"]["worker"]["positions"], 20, "position shown")

    def reload_with(**changes: Any) -> None:
        write_document(daemon.config, {**document, "strategies": [{**s1, **changes}, s2]})

    reload_with(params={"scirpt": "1:BUY:10"})  # the typo: `config check` exits 78 on it
    rejected_changes_nothing(daemon, before, "strategies.s1", "scirpt", "'1:BUY:10'")
    reload_with(strategy="tests.worker.strategies.NoSuchClass")
    rejected_changes_nothing(daemon, before, "strategies.s1", "NoSuchClass")
    reload_with(strategy="no_such_module.Strategy")
    rejected_changes_nothing(daemon, before, "strategies.s1", "no_such_module")
    reload_with(params_file=str(tmp_path / "missing.toml"))
    rejected_changes_nothing(daemon, before, "strategies.s1.params_file", "missing.toml")
    (tmp_path / "a-file").write_text("not a directory\n")
    write_document(daemon.config, {**document, "state_dir": str(tmp_path / "a-file" / "state")})
    rejected_changes_nothing(daemon, before, "state_dir: ", "is not writable")

    reload_with(params={"scirpt": "1:BUY:10"})
    seen = len(reload_events(daemon))
    os.kill(daemon.proc.pid, signal.SIGHUP)  # SIGHUP checks the same way
    events = eventually(lambda: reload_events(daemon)[seen:], 30, "SIGHUP reload rejected")
    assert "scirpt" in "\n".join(events[0]["data"]["problems"])
    assert_untouched(daemon, before)

    # Valid now: s2's module gained a parameter since the daemon started. The check imports
    # it fresh, as the new worker will, so the reload is accepted and only s2 restarts.
    write_module(modules, '(("extra", 0),)')
    write_document(daemon.config, {**document, "strategies": [s1, {**s2, "params": {"extra": 1}}]})
    plan = daemon.result("reload")
    assert plan == {"added": [], "removed": [], "changed": ["s2"], "unchanged": ["s1"]}
    assert daemon.wait_trading("s2")["pid"] != before["s2"]
    assert_untouched(daemon, {"s1": before["s1"]})
