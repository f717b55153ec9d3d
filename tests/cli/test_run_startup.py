"""`tradd run` start-up as an operator meets it: `make run` twice, the embedded simulator
inspected with `tradd simgw`, and what is refused before anything starts trading.

Each refusal is one line on stderr and a documented exit code, never a traceback.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from tests.conftest import ROOT
from tests.fixtures.simulator import SAMPLE_DATA, eventually
from tradd.control.client import Unreachable, call


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_config(tmp_path: Path, name: str = "tradd.toml", **sections: Any) -> Path:
    """A daemon without strategies: its own state, logs, ports and control socket."""
    document: dict[str, Any] = {
        "state_dir": str(tmp_path / "state"), "log": {"dir": str(tmp_path / "logs")},
        "data": {"dir": str(SAMPLE_DATA)}, "broker": {"port": free_port()},
        "control": {"socket": str(tmp_path / "control.sock")},
        "metrics": {"enabled": True, "port": free_port()},
    }  # fmt: skip
    for key, value in sections.items():
        document[key] = {**document[key], **value} if isinstance(value, dict) else value
    path = tmp_path / name
    path.write_text(tomli_w.dumps(document))
    return path


def environ(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADD_")}
    env["XDG_RUNTIME_DIR"] = str(tmp_path)  # the simulator's admin socket lives here
    return env


def tradd(tmp_path: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tradd", *args], cwd=ROOT, env=environ(tmp_path),
        capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    """The single line a refusal prints on stderr (no traceback)."""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[Path, subprocess.Popen[str]]]:
    """`tradd run --simulate` (what `make run` runs), answering on its control socket."""
    config = write_config(tmp_path)
    with (tmp_path / "first.out").open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tradd", "run", "--config", str(config), "--simulate"],
            cwd=ROOT, env=environ(tmp_path), stdout=out, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip

    def answering() -> bool:
        assert proc.poll() is None, (tmp_path / "first.out").read_text()
        try:
            return bool(call(tmp_path / "control.sock", "health", {}, 5)["ok"])
        except Unreachable:
            return False

    try:
        eventually(answering, 60, "first tradd run answering")
        yield config, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)


def test_the_embedded_simulator_answers_simgw_status_and_fault(
    tmp_path: Path, running: tuple[Path, subprocess.Popen[str]]
) -> None:
    config, _ = running
    port = str(tomllib_port(config))
    status = tradd(tmp_path, "simgw", "status", "--port", port)
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["port"] == int(port)
    assert f"tradd simgw status --port {port}" in (tmp_path / "first.out").read_text()
    fault = tradd(tmp_path, "simgw", "fault", "stall", "--port", port)
    assert fault.returncode == 0, fault.stderr
    after = json.loads(tradd(tmp_path, "simgw", "status", "--port", port).stdout)
    assert after["stalled"] is True


def test_make_run_twice_is_one_line_naming_the_port_exit_1(
    tmp_path: Path, running: tuple[Path, subprocess.Popen[str]]
) -> None:
    config, first = running
    port = tomllib_port(config)
    second = tradd(tmp_path, "run", "--config", str(config), "--simulate")
    assert second.returncode == 1
    line = one_line(second)
    assert f"simulator port 127.0.0.1:{port} is in use" in line, line
    # The first one is unharmed: its simulator and admin socket still answer.
    assert first.poll() is None
    status = tradd(tmp_path, "simgw", "status", "--port", str(port))
    assert status.returncode == 0, status.stderr


def test_a_second_daemon_on_the_same_control_socket_is_one_line_exit_1(
    tmp_path: Path, running: tuple[Path, subprocess.Popen[str]]
) -> None:
    other = write_config(tmp_path, "other.toml")  # own ports, the same control socket
    second = tradd(tmp_path, "run", "--config", str(other))
    assert second.returncode == 1
    assert "another tradd is running there" in one_line(second)


def test_a_taken_metrics_port_is_one_line_naming_it_exit_1(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        config = write_config(tmp_path, metrics={"port": port})
        done = tradd(tmp_path, "run", "--config", str(config))
    assert done.returncode == 1
    line = one_line(done)
    assert f"metrics port 127.0.0.1:{port} is in use (metrics.port)" in line, line


def tomllib_port(config: Path) -> int:
    import tomllib

    return int(tomllib.loads(config.read_text())["broker"]["port"])
