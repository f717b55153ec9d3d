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
from tradd.errors import EXIT_CONFIG, EXIT_DATA
from tradd.persistence.db import open_database
from tradd.supervisor.daemonize import pid_alive, read_pid
from tradd.supervisor.preflight import unwritable


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


def test_make_run_twice_and_simgw_against_the_embedded_simulator(
    tmp_path: Path, running: tuple[Path, subprocess.Popen[str]]
) -> None:
    """One `make run` serves `tradd simgw status/fault`; a second one, a daemon wanting
    its simulator port, a second simulator, each is refused in one line, exit 1, and
    the first is unharmed."""
    config, first = running
    port = str(tomllib_port(config))
    status = tradd(tmp_path, "simgw", "status", "--port", port)
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["port"] == int(port)
    assert f"tradd simgw status --port {port}" in (tmp_path / "first.out").read_text()

    second = tradd(tmp_path, "run", "--config", str(config), "--simulate")  # `make run` again
    assert second.returncode == 1
    line = one_line(second)
    assert f"control socket {tmp_path / 'control.sock'}: another tradd is running" in line, line

    # Its own control socket and metrics port, the simulator's port taken.
    other = write_config(tmp_path, "other.toml", broker={"port": int(port)},
                         control={"socket": str(tmp_path / "other.sock")})  # fmt: skip
    third = tradd(tmp_path, "run", "--config", str(other), "--simulate")
    assert third.returncode == 1
    assert f"simulator port 127.0.0.1:{port} is in use" in one_line(third)

    standalone = tradd(tmp_path, "simgw", "--port", port, "--data-dir", str(SAMPLE_DATA))
    assert standalone.returncode == 1
    assert f"simulator port 127.0.0.1:{port} is in use" in one_line(standalone)

    assert first.poll() is None  # unharmed: its simulator's admin socket still answers
    fault = tradd(tmp_path, "simgw", "fault", "stall", "--port", port)
    assert fault.returncode == 0, fault.stderr
    after = json.loads(tradd(tmp_path, "simgw", "status", "--port", port).stdout)
    assert after["stalled"] is True


@pytest.mark.parametrize("mode", [[], ["--daemon"]], ids=["foreground", "daemon"])
def test_a_taken_metrics_port_is_one_line_naming_it_exit_1(tmp_path: Path, mode: list[str]) -> None:
    """In daemon mode too: checked before detaching, so the terminal gets the line."""
    pidfile = tmp_path / "tradd.pid"
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        config = write_config(tmp_path, metrics={"port": port})
        done = run_once(tmp_path, config, pidfile, mode)
    assert done.returncode == 1
    line = one_line(done)
    assert f"metrics port 127.0.0.1:{port} is in use (metrics.port)" in line, line


def run_once(
    tmp_path: Path, config: Path, pidfile: Path, mode: list[str]
) -> subprocess.CompletedProcess[str]:
    """`tradd run` expected to refuse; a daemon that started anyway is killed."""
    try:
        return tradd(tmp_path, "run", "--config", str(config), *mode, "--pidfile", str(pidfile),
                     timeout=30)  # fmt: skip
    finally:
        pid = read_pid(pidfile)
        if pid is not None and pid_alive(pid):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("mode", [[], ["--daemon"]], ids=["foreground", "daemon"])
def test_a_corrupt_sqlite_ledger_is_refused_at_start_exit_65(
    tmp_path: Path, mode: list[str]
) -> None:
    ledger = tmp_path / "state" / "tradd.db"  # the default database_url
    engine, _ = open_database(f"sqlite:///{ledger}")
    engine.dispose()
    with ledger.open("r+b") as db:  # damage the b-tree page headers of the tables
        for page in range(2, 12):
            db.seek(4096 * (page - 1))
            db.write(b"\x0d\x00\x00\xff\xff")
    config = write_config(tmp_path)
    pidfile = tmp_path / "tradd.pid"
    done = run_once(tmp_path, config, pidfile, mode)
    assert done.returncode == EXIT_DATA, done.stderr
    line = one_line(done)
    assert f"database {ledger} fails PRAGMA quick_check" in line, line
    assert "not starting" in line and not pidfile.exists()


@pytest.mark.parametrize("key", ["state_dir", "log.dir"])
def test_an_unwritable_directory_is_named_by_config_check_and_run_exit_78(
    tmp_path: Path, key: str
) -> None:
    # Root ignores permission bits: a directory under a regular file fails for anyone.
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory\n")
    bad = blocker / "dir"
    section = {"state_dir": str(bad)} if key == "state_dir" else {"log": {"dir": str(bad)}}
    config = write_config(tmp_path, **section)
    checked = tradd(tmp_path, "config", "check", "--config", str(config))
    assert checked.returncode == EXIT_CONFIG, checked.stdout + checked.stderr
    assert f"{key}: {bad} is not writable ({blocker} is not a directory)" in checked.stderr
    done = tradd(tmp_path, "run", "--config", str(config))
    assert done.returncode == EXIT_CONFIG, done.stderr
    assert f"{key}: {bad} is not writable" in one_line(done)


def test_writability_is_tried_for_real_and_leaves_nothing_behind(tmp_path: Path) -> None:
    assert unwritable(tmp_path / "new" / "deeper") is None
    assert list(tmp_path.iterdir()) == []  # neither the directories nor the test file
    (tmp_path / "file").write_text("")
    assert unwritable(tmp_path / "file") == f"{tmp_path / 'file'} is not a directory"


def tomllib_port(config: Path) -> int:
    import tomllib

    return int(tomllib.loads(config.read_text())["broker"]["port"])


@pytest.mark.parametrize("mode", [[], ["--daemon"]], ids=["foreground", "daemon"])
def test_a_strategy_parameter_config_check_rejects_stops_run_exit_78(
    tmp_path: Path, mode: list[str]
) -> None:
    """`tradd run` refuses what `config check` and a reload refuse, before anything starts:
    once it started a worker that then exited 78, leaving that strategy silently idle."""
    strategy = {
        "name": "sma", "strategy": "strategies.sma_cross.SmaCross", "symbols": ["GOOG"],
        "client_id": 31, "bar": "1m", "params": {"fats": 10},
    }  # fmt: skip
    config = write_config(tmp_path, strategies=[strategy])
    done = tradd(tmp_path, "run", "--config", str(config), *mode)
    pid = read_pid(tmp_path / "state" / "tradd.pid")
    if pid is not None and pid_alive(pid):  # a daemon that should not have started
        os.kill(pid, signal.SIGTERM)
    assert done.returncode == EXIT_CONFIG, done.stdout + done.stderr
    assert "fats" in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert not (tmp_path / "control.sock").exists()  # nothing started
