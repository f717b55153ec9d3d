"""`tradd run --daemon --pidfile`: detached, one instance per PID file, stopped by SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import tomli_w

from tests.conftest import ROOT
from tests.fixtures.simulator import eventually
from tradd.control.client import Unreachable, call
from tradd.supervisor.daemonize import pid_alive, read_pid


def test_daemon_mode_refuses_a_second_instance_and_stops_on_sigterm(tmp_path) -> None:
    sock, pidfile = tmp_path / "control.sock", tmp_path / "tradd.pid"
    config = tmp_path / "tradd.toml"
    config.write_text(tomli_w.dumps({
        "state_dir": str(tmp_path / "state"), "log": {"dir": str(tmp_path / "logs")},
        "control": {"socket": str(sock)}, "metrics": {"enabled": False},
    }))  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADD_")}
    argv = [sys.executable, "-m", "tradd", "run", "--config", str(config), "--daemon",
            "--pidfile", str(pidfile)]  # fmt: skip
    first = subprocess.run(
        argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert first.returncode == 0, first.stderr
    pid = eventually(lambda: read_pid(pidfile), 20, "PID written")
    try:

        def answering() -> bool:
            try:
                return bool(call(sock, "health", {}, 5)["ok"])
            except Unreachable:
                return False

        eventually(answering, 30, "the detached daemon answers")
        assert call(sock, "health", {}, 5)["result"]["pid"] == pid
        second = subprocess.run(
            argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
        )
        assert second.returncode == 1
        assert f"already running (pid {pid}" in second.stderr
        os.kill(pid, signal.SIGTERM)
        eventually(lambda: not pid_alive(pid), 30, "daemon stopped")
        assert not pidfile.exists() and not sock.exists()
    finally:
        if pid_alive(pid):
            os.kill(pid, signal.SIGKILL)
