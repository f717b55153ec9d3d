"""`tradd run --daemon` for real: the detached supervisor's workers trade on the simulator.

The other supervisor tests run `tradd run` in the foreground, where workers inherit the
test's stdout/stderr. A detached daemon has no terminal: these tests check that its
workers still start, connect and trade, started directly and through
`scripts/start_live_trading.sh --mode daemon`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.fixtures.simulator import eventually, strategy_entry
from tests.worker.conftest import sim_ledger
from tradd.control.client import Unreachable, call
from tradd.supervisor.daemonize import pid_alive, read_pid

from .conftest import daemon_document, write_document

BIN = Path(sys.executable).parent


def _environ() -> dict[str, str]:
    """No TRADD_* from the test's environment; the repository importable (the strategies
    under tests/ are found as `tests.worker.strategies`, as `python -m` would)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADD_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def _strategies(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in status["strategies"]}


def _trading(socket: Path, names: tuple[str, ...]) -> dict[str, dict[str, Any]] | None:
    """Every strategy RUNNING, its worker ready and connected; None until then."""
    try:
        reply = call(socket, "status", {}, 5)
    except Unreachable:
        return None
    strategies = _strategies(reply["result"])
    for name in names:
        s = strategies.get(name, {})
        assert s.get("state") not in ("FATAL", "EXITED", "BACKOFF"), s
        worker = s.get("worker", {})
        if s.get("state") != "RUNNING" or not worker.get("ready"):
            return None
        if worker.get("connection") != "connected":
            return None
    return strategies


@pytest.fixture
def stop_daemons() -> Iterator[Callable[[Path], None]]:
    """Remember PID files; at the end, SIGTERM each daemon and kill what it left."""
    pidfiles: list[Path] = []
    yield pidfiles.append
    for pidfile in pidfiles:
        pid = read_pid(pidfile)
        if pid is None or not pid_alive(pid):
            continue
        os.kill(pid, signal.SIGTERM)
        with contextlib.suppress(AssertionError):
            eventually(lambda p=pid: not pid_alive(p), 30, "daemon stopped")  # type: ignore[misc]
        if pid_alive(pid):
            os.kill(pid, signal.SIGKILL)


def _document(tmp_path: Path, simulator: Any, sqlite_url: str) -> dict[str, Any]:
    strategies = [
        strategy_entry("s1", params={"script": "1:BUY:10"}),
        strategy_entry("s2", client_id=12, symbols=["ORCL"], params={"script": "1:BUY:20"}),
    ]
    return daemon_document(tmp_path, simulator, sqlite_url, strategies)


def _assert_trades(simulator: Any, socket: Path) -> None:
    simulator.call(simulator.gw.advance, 60)
    eventually(
        lambda: sim_ledger(simulator, "s")["positions"] == {"GOOG": 10.0, "ORCL": 20.0},
        20,
        "both strategies filled",
    )
    health = call(socket, "health", {}, 5)["result"]
    assert health["ok"] and health["not_running"] == [], health


def test_a_detached_daemons_workers_connect_and_trade(
    tmp_path: Path, simulator: Any, sqlite_url: str, stop_daemons: Callable[[Path], None]
) -> None:
    document = _document(tmp_path, simulator, sqlite_url)
    config = write_document(tmp_path / "tradd.toml", document)
    pidfile, socket = tmp_path / "tradd.pid", Path(document["control"]["socket"])
    stop_daemons(pidfile)
    started = subprocess.run(
        [sys.executable, "-m", "tradd", "run", "--config", str(config), "--daemon",
         "--pidfile", str(pidfile)],
        cwd=ROOT, env=_environ(), capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert started.returncode == 0, started.stderr
    pid = eventually(lambda: read_pid(pidfile), 20, "PID written")
    strategies = eventually(lambda: _trading(socket, ("s1", "s2")), 60, "workers trading")
    assert strategies["s1"]["restarts"] == 0 and strategies["s2"]["restarts"] == 0
    _assert_trades(simulator, socket)
    assert pid_alive(pid)


def test_start_script_in_daemon_mode_starts_a_healthy_daemon(
    tmp_path: Path, simulator: Any, sqlite_url: str, stop_daemons: Callable[[Path], None]
) -> None:
    document = _document(tmp_path, simulator, sqlite_url)
    config = write_document(tmp_path / "tradd.toml", document)
    pidfile, socket = tmp_path / "tradd.pid", Path(document["control"]["socket"])
    stop_daemons(pidfile)
    env = _environ() | {"TRADD_BIN": str(BIN), "TRADD_POLL_INTERVAL": "0.2"}
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "start_live_trading.sh"), "--mode", "daemon",
         "--config", str(config), "--pidfile", str(pidfile), "--timeout", "60"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "tradd is running and healthy" in done.stdout + done.stderr
    assert read_pid(pidfile) is not None
    # Healthy means every worker RUNNING (answering); connected and warmed up may follow.
    eventually(lambda: _trading(socket, ("s1", "s2")), 60, "workers trading")
    _assert_trades(simulator, socket)
