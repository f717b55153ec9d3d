"""A worker started with descriptors 0, 1 and 2 closed still runs, trades and stops.

That is how a detached parent (a daemon whose stdio is gone) may start it; before, the
first write to the missing stderr killed the worker with exit 1 and no word anywhere.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT
from tests.fixtures.simulator import eventually
from tradd.errors import EXIT_CONFIG
from tradd.simgw.background import BackgroundGateway
from tradd.worker.channel import request

from .conftest import sim_ledger
from .test_process import write_config

CLOSED = 'exec "$0" "$@" 0<&- 1>&- 2>&-'
"""bash: run the command with stdin, stdout and stderr closed."""


def _spawn_closed(config: Path, name: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADD_")}
    argv = [sys.executable, "-m", "tradd.worker", "--config", str(config), "--strategy", name]
    return subprocess.Popen(["bash", "-c", CLOSED, *argv], cwd=ROOT, env=env)


def test_a_worker_without_stdio_connects_trades_and_stops(
    tmp_path: Path, simulator: BackgroundGateway, sqlite_url: str
) -> None:
    config = write_config(tmp_path, simulator, sqlite_url, params={"script": "1:BUY:10"})
    proc = _spawn_closed(config, "s1")
    sock = tmp_path / "run" / "s1.sock"
    try:

        def ready() -> bool:
            assert proc.poll() is None, f"worker exited {proc.returncode}"
            try:
                return bool(sock.exists() and request(sock, "status")["result"]["ready"])
            except (OSError, KeyError, ValueError):
                return False

        eventually(ready, 30, "worker ready")
        # Its own files (log, database) did not take the free numbers: 0/1/2 are /dev/null.
        assert [os.readlink(f"/proc/{proc.pid}/fd/{fd}") for fd in (0, 1, 2)] == [os.devnull] * 3
        simulator.call(simulator.gw.advance, 60)
        eventually(lambda: sim_ledger(simulator)["positions"] == {"GOOG": 10.0}, 20, "filled")
        assert request(sock, "stop")["ok"]
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_a_worker_without_stdio_still_exits_78_on_a_config_error(
    tmp_path: Path, simulator: BackgroundGateway, sqlite_url: str
) -> None:
    config = write_config(tmp_path, simulator, sqlite_url)
    proc = _spawn_closed(config, "nope")
    assert proc.wait(30) == EXIT_CONFIG
