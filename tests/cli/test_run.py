"""`make run`'s command: `tradd run --simulate` with the shipped configuration."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

from tests.conftest import ROOT
from tests.fixtures.simulator import eventually
from tradd.control.client import Unreachable, call


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_shipped_config_runs_on_the_embedded_simulator_and_ctrl_c_stops_it(tmp_path) -> None:
    sock = tmp_path / "control.sock"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADD_")}
    env.update({
        "TRADD_STATE_DIR": str(tmp_path / "state"), "TRADD_LOG__DIR": str(tmp_path / "logs"),
        "TRADD_BROKER__PORT": str(free_port()), "TRADD_METRICS__PORT": "0",
        "TRADD_CONTROL__SOCKET": str(sock),
    })  # fmt: skip
    with (tmp_path / "out").open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tradd", "run", "--config", "etc/tradd.toml", "--simulate",
             "--speed", "60"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:

        def running() -> bool:
            assert proc.poll() is None, (tmp_path / "out").read_text()
            try:
                reply = call(sock, "status", {}, 5)
            except Unreachable:
                return False
            states = {s["name"]: s["state"] for s in reply["result"]["strategies"]}
            return states == {"sma_goog": "RUNNING", "rsi_multi": "RUNNING"}

        eventually(running, 60, "both shipped strategies running")
        assert "tradctl status" in (tmp_path / "out").read_text()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
